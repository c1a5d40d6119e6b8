//! Shared fixtures of the authz tests: a map-backed ClusterView and request builders.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};

use compact_str::{format_compact, CompactString};
use nodeauthz::authz::{Attributes, ClusterView, Known, PathAnswer, PodFacts, VertexKind};
use nodeauthz::record::{FieldRequirement, Micros};

/// A ClusterView backed by maps. Paths are listed explicitly; a node in `incomplete` answers
/// Incomplete instead of NoPath.
#[derive(Default)]
pub struct MapView {
    pub paths: HashMap<(VertexKind, String, String, String), Vec<String>>,
    pub incomplete: HashMap<String, String>,
    pub pods: HashMap<(String, String), PodFacts>,
    pub unknown_pods: HashSet<(String, String)>,
    pub nodes: HashMap<String, String>,
    pub unknown_nodes: HashSet<String>,
    pub slices: HashMap<String, String>,
}

impl MapView {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a path from (kind, ns, name) to `node`, rendered as given.
    pub fn with_path(
        mut self,
        kind: VertexKind,
        ns: &str,
        name: &str,
        node: &str,
        path: &[&str],
    ) -> Self {
        self.paths.insert(
            (kind, ns.into(), name.into(), node.into()),
            path.iter().map(|s| s.to_string()).collect(),
        );
        self
    }

    pub fn with_pod(
        mut self,
        ns: &str,
        name: &str,
        uid: &str,
        node: &str,
        labels: &[(&str, &str)],
        audiences: &[&str],
    ) -> Self {
        self.pods.insert(
            (ns.into(), name.into()),
            PodFacts {
                uid: uid.into(),
                node_name: node.into(),
                labels: labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                token_audiences: audiences.iter().map(|s| s.to_string()).collect(),
            },
        );
        self
    }

    pub fn with_node(mut self, name: &str, uid: &str) -> Self {
        self.nodes.insert(name.into(), uid.into());
        self
    }

    pub fn with_slice(mut self, name: &str, node: &str) -> Self {
        self.slices.insert(name.into(), node.into());
        self
    }

    pub fn incomplete_for(mut self, node: &str, why: &str) -> Self {
        self.incomplete.insert(node.into(), why.into());
        self
    }
}

impl ClusterView for MapView {
    fn path(
        &self,
        kind: VertexKind,
        namespace: &str,
        name: &str,
        node: &str,
        _at: Micros,
    ) -> PathAnswer {
        if let Some(p) = self
            .paths
            .get(&(kind, namespace.into(), name.into(), node.into()))
        {
            return PathAnswer::Found(p.clone());
        }
        match self.incomplete.get(node) {
            Some(why) => PathAnswer::Incomplete(why.clone()),
            None => PathAnswer::NoPath,
        }
    }

    fn pod(&self, namespace: &str, name: &str, _at: Micros) -> Known<PodFacts> {
        let key = (namespace.to_string(), name.to_string());
        if self.unknown_pods.contains(&key) {
            return Known::Unknown(format!("pod {namespace}/{name} not in the inputs"));
        }
        match self.pods.get(&key) {
            Some(p) => Known::Yes(p.clone()),
            None => Known::Absent,
        }
    }

    fn node_uid(&self, name: &str, _at: Micros) -> Known<String> {
        if self.unknown_nodes.contains(name) {
            return Known::Unknown(format!("node {name} not in the inputs"));
        }
        match self.nodes.get(name) {
            Some(u) => Known::Yes(u.clone()),
            None => Known::Absent,
        }
    }

    fn resource_slice_node(&self, name: &str, _at: Micros) -> Known<String> {
        match self.slices.get(name) {
            Some(n) => Known::Yes(n.clone()),
            None => Known::Absent,
        }
    }
}

/// A resource request from node `node` (groups system:nodes, system:authenticated).
/// `resource` may be `res/sub`.
pub fn node_req(
    node: &str,
    verb: &str,
    group: &str,
    resource: &str,
    ns: &str,
    name: &str,
) -> Attributes {
    let (res, sub) = resource.split_once('/').unwrap_or((resource, ""));
    Attributes {
        username: format_compact!("system:node:{node}"),
        groups: vec!["system:nodes".into(), "system:authenticated".into()],
        resource_request: true,
        verb: verb.into(),
        api_group: group.into(),
        api_version: "v1".into(),
        resource: res.into(),
        subresource: sub.into(),
        namespace: ns.into(),
        name: name.into(),
        path: CompactString::default(),
        field_requirements: Vec::new(),
        legacy_prefix: false,
    }
}

/// A non-resource request from node `node`.
pub fn node_path_req(node: &str, verb: &str, path: &str) -> Attributes {
    Attributes {
        username: format_compact!("system:node:{node}"),
        groups: vec!["system:nodes".into(), "system:authenticated".into()],
        resource_request: false,
        verb: verb.into(),
        path: path.into(),
        ..Attributes::default()
    }
}

/// Adds an Equals field requirement.
pub fn with_field(mut a: Attributes, field: &str, value: &str) -> Attributes {
    a.field_requirements.push(FieldRequirement {
        field: field.into(),
        equals: true,
        value: value.into(),
    });
    a
}

/// Reads a bootstrap-policy YAML file: `data/bootstrap/<file>` when present, else the shared copy.
pub fn k8s_data(file: &str) -> String {
    let local = format!("{}/data/bootstrap/{file}", env!("CARGO_MANIFEST_DIR"));
    let path = if std::path::Path::new(&local).exists() {
        local
    } else {
        format!("/work/shared/k8s-data/{file}")
    };
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}
