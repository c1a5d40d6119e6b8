//! Views of PersistentVolumeClaims, PersistentVolumes (with their secret references, spec 6.4)
//! and VolumeAttachments.

use super::meta::{non_empty, NamespacedRef, RawMeta, WithSecretRef};
use serde::Deserialize;

/// A PersistentVolumeClaim: its binding to a PV is all the graph needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PvcView {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// `spec.volumeName`: the PV this claim is bound to (empty while unbound).
    pub volume_name: String,
}

impl PvcView {
    /// Parses a PersistentVolumeClaim from its JSON.
    pub fn from_json(json: &str) -> Result<PvcView, serde_json::Error> {
        serde_json::from_str::<RawPvc>(json).map(PvcView::from_raw)
    }

    /// Same as [`PvcView::from_json`] for an already parsed document.
    pub fn from_value(v: &serde_json::Value) -> Result<PvcView, serde_json::Error> {
        RawPvc::deserialize(v).map(PvcView::from_raw)
    }

    fn from_raw(raw: RawPvc) -> PvcView {
        PvcView {
            namespace: raw.metadata.namespace(),
            name: raw.metadata.name(),
            uid: raw.metadata.uid(),
            volume_name: raw.spec.volume_name.unwrap_or_default(),
        }
    }
}

/// `spec.claimRef` of a PV.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimRef {
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

/// One secret reference of a PV (spec 6.4), with its namespace already resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PvSecretRef {
    /// Where the reference sits, e.g. `csi.nodeStageSecretRef`.
    pub field: &'static str,
    pub namespace: String,
    pub name: String,
    /// The kubelet uses it, so the graph has a secret → pv edge for it.
    pub kubelet_visible: bool,
}

/// A PersistentVolume.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PvView {
    pub name: String,
    pub uid: String,
    pub claim_ref: Option<ClaimRef>,
    /// Every secret reference of the volume source. Namespaces that default to the claim's are
    /// resolved with `claimRef.namespace` (empty when there is no claimRef; the graph ignores
    /// the references of an unclaimed PV anyway).
    pub secret_refs: Vec<PvSecretRef>,
    /// `csi.driver`, empty for other sources.
    pub csi_driver: String,
}

impl PvView {
    /// Parses a PersistentVolume from its JSON.
    pub fn from_json(json: &str) -> Result<PvView, serde_json::Error> {
        serde_json::from_str::<RawPv>(json).map(PvView::from_raw)
    }

    /// Same as [`PvView::from_json`] for an already parsed document.
    pub fn from_value(v: &serde_json::Value) -> Result<PvView, serde_json::Error> {
        RawPv::deserialize(v).map(PvView::from_raw)
    }

    fn from_raw(raw: RawPv) -> PvView {
        let claim_ref = raw.spec.claim_ref.as_ref().map(|c| ClaimRef {
            namespace: c.namespace.clone().unwrap_or_default(),
            name: c.name.clone().unwrap_or_default(),
            uid: c.uid.clone().unwrap_or_default(),
        });
        let claim_ns = claim_ref.as_ref().map_or("", |c| c.namespace.as_str());
        let secret_refs = pv_secret_refs(&raw.spec, claim_ns);
        PvView {
            name: raw.metadata.name(),
            uid: raw.metadata.uid(),
            claim_ref,
            secret_refs,
            csi_driver: raw
                .spec
                .csi
                .as_ref()
                .and_then(|c| c.driver.clone())
                .unwrap_or_default(),
        }
    }
}

/// Spec 6.4, in upstream's `VisitPVSecretNames` switch order (one source per volume).
fn pv_secret_refs(spec: &RawPvSpec, claim_ns: &str) -> Vec<PvSecretRef> {
    let mut out = Vec::new();
    let mut push = |field: &'static str, ns: &str, name: Option<&str>, visible: bool| {
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            out.push(PvSecretRef {
                field,
                namespace: ns.to_string(),
                name: name.to_string(),
                kubelet_visible: visible,
            });
        }
    };
    // "its namespace if non-empty, else the claim's"
    let or_claim = |r: &NamespacedRef| non_empty(&r.namespace).unwrap_or(claim_ns).to_string();
    // "its namespace, as given"
    let as_given = |r: &NamespacedRef| r.namespace.clone().unwrap_or_default();
    let name = |r: &NamespacedRef| r.name.clone();

    if let Some(a) = &spec.azure_file {
        let ns = non_empty(&a.secret_namespace).unwrap_or(claim_ns);
        push("azureFile.secretName", ns, a.secret_name.as_deref(), true);
    } else if let Some(r) = sref(&spec.cephfs) {
        push("cephfs.secretRef", &or_claim(r), name(r).as_deref(), true);
    } else if let Some(s) = &spec.cinder {
        if let Some(r) = &s.secret_ref {
            push("cinder.secretRef", &as_given(r), name(r).as_deref(), true);
        }
    } else if let Some(r) = sref(&spec.flex_volume) {
        push(
            "flexVolume.secretRef",
            &or_claim(r),
            name(r).as_deref(),
            true,
        );
    } else if let Some(r) = sref(&spec.rbd) {
        push("rbd.secretRef", &or_claim(r), name(r).as_deref(), true);
    } else if let Some(r) = sref(&spec.scale_io) {
        push("scaleIO.secretRef", &or_claim(r), name(r).as_deref(), true);
    } else if let Some(r) = sref(&spec.iscsi) {
        push("iscsi.secretRef", &or_claim(r), name(r).as_deref(), true);
    } else if let Some(s) = &spec.storageos {
        if let Some(r) = &s.secret_ref {
            push(
                "storageos.secretRef",
                &as_given(r),
                name(r).as_deref(),
                true,
            );
        }
    } else if let Some(c) = &spec.csi {
        let refs = [
            (
                "csi.controllerPublishSecretRef",
                &c.controller_publish_secret_ref,
                false,
            ),
            (
                "csi.controllerExpandSecretRef",
                &c.controller_expand_secret_ref,
                false,
            ),
            ("csi.nodePublishSecretRef", &c.node_publish_secret_ref, true),
            ("csi.nodeStageSecretRef", &c.node_stage_secret_ref, true),
            ("csi.nodeExpandSecretRef", &c.node_expand_secret_ref, true),
        ];
        for (field, r, visible) in refs {
            if let Some(r) = r {
                push(field, &as_given(r), name(r).as_deref(), visible);
            }
        }
    }
    out
}

/// Sources other than cinder and storageos default the secret namespace to the claim's.
fn sref(s: &Option<WithSecretRef<NamespacedRef>>) -> Option<&NamespacedRef> {
    s.as_ref().and_then(|s| s.secret_ref.as_ref())
}

/// A VolumeAttachment: which node and which PV.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeAttachmentView {
    pub name: String,
    pub uid: String,
    /// `spec.nodeName`.
    pub node_name: String,
    /// `spec.source.persistentVolumeName`, empty for inline volumes.
    pub persistent_volume_name: String,
}

impl VolumeAttachmentView {
    /// Parses a VolumeAttachment from its JSON.
    pub fn from_json(json: &str) -> Result<VolumeAttachmentView, serde_json::Error> {
        serde_json::from_str::<RawVolumeAttachment>(json).map(VolumeAttachmentView::from_raw)
    }

    /// Same as [`VolumeAttachmentView::from_json`] for an already parsed document.
    pub fn from_value(v: &serde_json::Value) -> Result<VolumeAttachmentView, serde_json::Error> {
        RawVolumeAttachment::deserialize(v).map(VolumeAttachmentView::from_raw)
    }

    fn from_raw(raw: RawVolumeAttachment) -> VolumeAttachmentView {
        VolumeAttachmentView {
            name: raw.metadata.name(),
            uid: raw.metadata.uid(),
            node_name: raw.spec.node_name.unwrap_or_default(),
            persistent_volume_name: raw
                .spec
                .source
                .and_then(|s| s.persistent_volume_name)
                .unwrap_or_default(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawPvc {
    metadata: RawMeta,
    spec: RawPvcSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawPvcSpec {
    volume_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawPv {
    metadata: RawMeta,
    spec: RawPvSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawPvSpec {
    claim_ref: Option<NamespacedRef>,
    azure_file: Option<RawAzureFilePv>,
    cephfs: Option<WithSecretRef<NamespacedRef>>,
    cinder: Option<WithSecretRef<NamespacedRef>>,
    flex_volume: Option<WithSecretRef<NamespacedRef>>,
    rbd: Option<WithSecretRef<NamespacedRef>>,
    #[serde(rename = "scaleIO")]
    scale_io: Option<WithSecretRef<NamespacedRef>>,
    iscsi: Option<WithSecretRef<NamespacedRef>>,
    storageos: Option<WithSecretRef<NamespacedRef>>,
    csi: Option<RawCsiPv>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawAzureFilePv {
    secret_name: Option<String>,
    secret_namespace: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawCsiPv {
    driver: Option<String>,
    controller_publish_secret_ref: Option<NamespacedRef>,
    controller_expand_secret_ref: Option<NamespacedRef>,
    node_publish_secret_ref: Option<NamespacedRef>,
    node_stage_secret_ref: Option<NamespacedRef>,
    node_expand_secret_ref: Option<NamespacedRef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawVolumeAttachment {
    metadata: RawMeta,
    spec: RawVolumeAttachmentSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawVolumeAttachmentSpec {
    node_name: Option<String>,
    source: Option<RawVolumeAttachmentSource>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawVolumeAttachmentSource {
    persistent_volume_name: Option<String>,
}
