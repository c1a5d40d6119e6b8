//! Loading `--objects`: what `kubectl get … -o json|yaml` writes (a `List`, a typed list such as
//! `PodList`, a single object, several JSON documents in a row, multi-document YAML), or a
//! directory of manifests. A bad document is recorded with its file and position and skipped;
//! nothing here is fatal.

use super::objects::{NodeView, ResourceClaimView, ResourceSliceView, ServiceAccountView};
use super::pod::PodView;
use super::rbac_types::{Binding, RbacPolicy, Role};
use super::volume::{PvView, PvcView, VolumeAttachmentView};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// A document that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadProblem {
    pub file: PathBuf,
    /// 1-based document number in the file (JSON values or YAML documents in a row); `None` when
    /// the file itself could not be read.
    pub document: Option<usize>,
    /// 1-based position in the document's `items` when the document is a list.
    pub item: Option<usize>,
    pub message: String,
}

impl fmt::Display for LoadProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(d) = self.document {
            write!(f, ": document {d}")?;
        }
        if let Some(i) = self.item {
            write!(f, ", item {i}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every object loaded from `--objects`, one list per kind, in file order.
#[derive(Debug, Clone, Default)]
pub struct ObjectSet {
    pub pods: Vec<PodView>,
    pub pvcs: Vec<PvcView>,
    pub pvs: Vec<PvView>,
    pub volume_attachments: Vec<VolumeAttachmentView>,
    pub resource_claims: Vec<ResourceClaimView>,
    pub resource_slices: Vec<ResourceSliceView>,
    pub nodes: Vec<NodeView>,
    pub service_accounts: Vec<ServiceAccountView>,
    /// Roles, ClusterRoles and their bindings, as given (no bootstrap policy merged in).
    pub rbac: RbacPolicy,
    /// Objects of other kinds, counted by kind and skipped.
    pub skipped: BTreeMap<String, usize>,
    /// Kinds the dump contained, including empty typed lists (`PodList` with no items counts as
    /// "Pod"): a dump that lists pods is a snapshot of every pod, even when there are none.
    pub kinds_seen: BTreeSet<String>,
    /// Documents that could not be used.
    pub problems: Vec<LoadProblem>,
    /// Files read, in order.
    pub files: Vec<PathBuf>,
}

/// Loads files and directories (recursively, `*.json`, `*.yaml`, `*.yml`, sorted by path).
/// A file named directly is read whatever its extension.
pub fn load_objects(paths: &[PathBuf]) -> ObjectSet {
    let mut set = ObjectSet::default();
    for p in paths {
        if p.is_dir() {
            let mut files = Vec::new();
            collect_manifests(p, &mut files, &mut set.problems);
            files.sort();
            for f in files {
                set.load_file(&f);
            }
        } else {
            set.load_file(p);
        }
    }
    set
}

fn collect_manifests(dir: &Path, out: &mut Vec<PathBuf>, problems: &mut Vec<LoadProblem>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            problems.push(file_problem(dir, format!("cannot read directory: {e}")));
            return;
        }
    };
    for entry in entries {
        let path = match entry {
            Ok(e) => e.path(),
            Err(e) => {
                problems.push(file_problem(dir, format!("cannot read directory: {e}")));
                continue;
            }
        };
        if path.is_dir() {
            collect_manifests(&path, out, problems);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("json" | "yaml" | "yml")
        ) {
            out.push(path);
        }
    }
}

fn file_problem(file: &Path, message: String) -> LoadProblem {
    LoadProblem {
        file: file.to_path_buf(),
        document: None,
        item: None,
        message,
    }
}

/// One document, either borrowed JSON text or a value converted from YAML.
#[derive(Clone, Copy)]
enum Doc<'a> {
    Json(&'a str),
    Value(&'a serde_json::Value),
}

impl Doc<'_> {
    fn parse<T: DeserializeOwned>(self) -> Result<T, String> {
        match self {
            Doc::Json(s) => serde_json::from_str(s).map_err(|e| e.to_string()),
            Doc::Value(v) => T::deserialize(v).map_err(|e| e.to_string()),
        }
    }
}

/// `kind` and, for lists, the items, without parsing the rest.
#[derive(Deserialize)]
struct JsonHead<'a> {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default, borrow)]
    items: Option<Vec<&'a RawValue>>,
}

impl ObjectSet {
    /// Reads one file; JSON when it says so by extension or by its first character, else YAML.
    pub fn load_file(&mut self, file: &Path) {
        match std::fs::read_to_string(file) {
            Ok(text) => {
                self.files.push(file.to_path_buf());
                self.load_text(file, &text);
            }
            Err(e) => self
                .problems
                .push(file_problem(file, format!("cannot read: {e}"))),
        }
    }

    /// Loads the documents of `text`, reporting problems against `file`.
    pub fn load_text(&mut self, file: &Path, text: &str) {
        let ext = file.extension().and_then(|e| e.to_str());
        let json = match ext {
            Some("json") => true,
            Some("yaml" | "yml") => false,
            _ => text.trim_start().starts_with(['{', '[']),
        };
        if json {
            self.load_json(file, text);
        } else {
            self.load_yaml(file, text);
        }
    }

    /// Whether the dump is a snapshot of pods (it contained a Pod or a pod list).
    pub fn has_pod_snapshot(&self) -> bool {
        self.kinds_seen.contains("Pod")
    }

    fn load_json(&mut self, file: &Path, text: &str) {
        let stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
        for (i, doc) in stream.enumerate() {
            match doc {
                Ok(raw) => self.add_document(file, i + 1, Doc::Json(raw.get())),
                Err(e) => {
                    // The stream cannot resynchronise after a syntax error.
                    self.problem(file, i + 1, None, e.to_string());
                    break;
                }
            }
        }
    }

    fn load_yaml(&mut self, file: &Path, text: &str) {
        for (i, doc) in super::yaml::documents(text).into_iter().enumerate() {
            match doc {
                Ok(serde_json::Value::Null) => {} // empty document, e.g. a leading `---`
                Ok(v) => self.add_document(file, i + 1, Doc::Value(&v)),
                Err(msg) => self.problem(file, i + 1, None, msg),
            }
        }
    }

    fn add_document(&mut self, file: &Path, doc_no: usize, doc: Doc<'_>) {
        let (kind, items): (String, Option<Vec<Doc<'_>>>) = match doc {
            Doc::Json(s) => match serde_json::from_str::<JsonHead>(s) {
                Ok(h) => (
                    h.kind.unwrap_or_default(),
                    h.items
                        .map(|v| v.into_iter().map(|r| Doc::Json(r.get())).collect()),
                ),
                Err(e) => {
                    self.problem(file, doc_no, None, format!("not a Kubernetes object: {e}"));
                    return;
                }
            },
            Doc::Value(v) => {
                if !v.is_object() {
                    self.problem(file, doc_no, None, "not a Kubernetes object".into());
                    return;
                }
                (
                    v.get("kind")
                        .and_then(|k| k.as_str())
                        .unwrap_or_default()
                        .to_string(),
                    v.get("items")
                        .and_then(|i| i.as_array())
                        .map(|a| a.iter().map(Doc::Value).collect()),
                )
            }
        };
        match (kind.strip_suffix("List"), items) {
            (Some(item_kind), Some(items)) => {
                if !item_kind.is_empty() {
                    self.kinds_seen.insert(item_kind.to_string());
                }
                for (i, item) in items.into_iter().enumerate() {
                    self.add_object(file, doc_no, Some(i + 1), item, item_kind);
                }
            }
            _ => self.add_object(file, doc_no, None, doc, ""),
        }
    }

    fn add_object(
        &mut self,
        file: &Path,
        doc_no: usize,
        item: Option<usize>,
        doc: Doc<'_>,
        default_kind: &str,
    ) {
        let kind = match doc {
            Doc::Json(s) => serde_json::from_str::<JsonHead>(s)
                .ok()
                .and_then(|h| h.kind)
                .unwrap_or_default(),
            Doc::Value(v) => v
                .get("kind")
                .and_then(|k| k.as_str())
                .unwrap_or_default()
                .to_string(),
        };
        let kind = if kind.is_empty() {
            default_kind.to_string()
        } else {
            kind
        };
        if kind.is_empty() {
            self.problem(file, doc_no, item, "object has no kind".into());
            return;
        }
        let result =
            match kind.as_str() {
                "Pod" => parse_view(doc, PodView::from_json, PodView::from_value)
                    .map(|v| self.pods.push(v)),
                "PersistentVolumeClaim" => parse_view(doc, PvcView::from_json, PvcView::from_value)
                    .map(|v| self.pvcs.push(v)),
                "PersistentVolume" => {
                    parse_view(doc, PvView::from_json, PvView::from_value).map(|v| self.pvs.push(v))
                }
                "VolumeAttachment" => parse_view(
                    doc,
                    VolumeAttachmentView::from_json,
                    VolumeAttachmentView::from_value,
                )
                .map(|v| self.volume_attachments.push(v)),
                "ResourceClaim" => parse_view(
                    doc,
                    ResourceClaimView::from_json,
                    ResourceClaimView::from_value,
                )
                .map(|v| self.resource_claims.push(v)),
                "ResourceSlice" => parse_view(
                    doc,
                    ResourceSliceView::from_json,
                    ResourceSliceView::from_value,
                )
                .map(|v| self.resource_slices.push(v)),
                "Node" => parse_view(doc, NodeView::from_json, NodeView::from_value)
                    .map(|v| self.nodes.push(v)),
                "ServiceAccount" => parse_view(
                    doc,
                    ServiceAccountView::from_json,
                    ServiceAccountView::from_value,
                )
                .map(|v| self.service_accounts.push(v)),
                "Role" | "ClusterRole" => doc.parse::<Role>().map(|mut r| {
                    r.kind = kind.clone();
                    if kind == "Role" {
                        self.rbac.roles.push(r);
                    } else {
                        r.metadata.namespace.clear();
                        self.rbac.cluster_roles.push(r);
                    }
                }),
                "RoleBinding" | "ClusterRoleBinding" => doc.parse::<Binding>().map(|mut b| {
                    b.kind = kind.clone();
                    if kind == "RoleBinding" {
                        self.rbac.role_bindings.push(b);
                    } else {
                        b.metadata.namespace.clear();
                        self.rbac.cluster_role_bindings.push(b);
                    }
                }),
                _ => {
                    *self.skipped.entry(kind).or_insert(0) += 1;
                    return;
                }
            };
        match result {
            Ok(()) => {
                self.kinds_seen.insert(kind);
            }
            Err(e) => self.problem(file, doc_no, item, format!("{kind}: {e}")),
        }
    }

    fn problem(&mut self, file: &Path, doc_no: usize, item: Option<usize>, message: String) {
        self.problems.push(LoadProblem {
            file: file.to_path_buf(),
            document: Some(doc_no),
            item,
            message,
        });
    }
}

/// Parses a document through the view's own constructors, without an intermediate `Value` for
/// JSON input (pods are the bulk of any dump).
fn parse_view<T>(
    doc: Doc<'_>,
    from_json: fn(&str) -> Result<T, serde_json::Error>,
    from_value: fn(&serde_json::Value) -> Result<T, serde_json::Error>,
) -> Result<T, String> {
    match doc {
        Doc::Json(s) => from_json(s),
        Doc::Value(v) => from_value(v),
    }
    .map_err(|e| e.to_string())
}
