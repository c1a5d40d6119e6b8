//! The Pod view: every way a pod references another object (spec sections 6.3, 6.5, 6.6), plus
//! the few fields NodeRestriction compares.

use super::meta::{non_empty, sorted_set, NameRef, RawMeta, WithSecretRef};
use serde::de::IgnoredAny;
use serde::Deserialize;

/// The annotation whose presence (any value) makes a pod a mirror pod.
pub const MIRROR_POD_ANNOTATION: &str = "kubernetes.io/config.mirror";

/// One `metadata.ownerReferences` entry (NodeRestriction checks mirror pods' owners).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerReference {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    pub controller: Option<bool>,
    pub block_owner_deletion: Option<bool>,
}

/// A pod as the Node authorizer's graph and NodeRestriction see it. Reference lists are sorted
/// and deduplicated; empty names are never references.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodView {
    pub namespace: String,
    pub name: String,
    pub generate_name: String,
    pub uid: String,
    /// `metadata.labels`, in key order.
    pub labels: Vec<(String, String)>,
    pub owner_references: Vec<OwnerReference>,
    /// `spec.nodeName`; empty while the pod is pending.
    pub node_name: String,
    pub service_account_name: String,
    /// The `kubernetes.io/config.mirror` annotation is present.
    pub mirror: bool,
    /// Secrets referenced by the spec (6.3 list, all containers and volumes).
    pub secrets: Vec<String>,
    /// Config maps referenced by the spec (6.3 list).
    pub config_maps: Vec<String>,
    /// `persistentVolumeClaim.claimName` of the volumes.
    pub claim_volumes: Vec<String>,
    /// PVCs of generic ephemeral volumes: `<pod name>-<volume name>` (6.6).
    pub ephemeral_pvcs: Vec<String>,
    /// ResourceClaims the pod uses (6.5, resolved through `status` for templates).
    pub resource_claims: Vec<String>,
    /// `status.resourceClaimStatuses` as (pod claim name, claim name if any), in order.
    pub resource_claim_statuses: Vec<(String, Option<String>)>,
    /// Audiences of projected `serviceAccountToken` sources; an absent audience is `""`.
    pub token_audiences: Vec<String>,
    /// Drivers of inline `csi` volumes (the token audience check follows them).
    pub csi_drivers: Vec<String>,
    /// Some projected source is a `clusterTrustBundle`.
    pub cluster_trust_bundles: bool,
}

impl PodView {
    /// Parses a Pod from its JSON (a dump item, or an audit `requestObject`/`responseObject`).
    pub fn from_json(json: &str) -> Result<PodView, serde_json::Error> {
        serde_json::from_str::<RawPod>(json).map(PodView::from_raw)
    }

    /// Same as [`PodView::from_json`] for an already parsed document.
    pub fn from_value(v: &serde_json::Value) -> Result<PodView, serde_json::Error> {
        RawPod::deserialize(v).map(PodView::from_raw)
    }

    /// Every PVC the pod uses: claim volumes and ephemeral volumes.
    pub fn pvcs(&self) -> impl Iterator<Item = &str> {
        self.claim_volumes
            .iter()
            .chain(self.ephemeral_pvcs.iter())
            .map(String::as_str)
    }

    fn from_raw(raw: RawPod) -> PodView {
        let meta = &raw.metadata;
        let name = meta.name();
        let mut refs = Refs::default();
        let spec = &raw.spec;
        for s in spec.image_pull_secrets.iter().flatten() {
            refs.secret(s.name.as_deref());
        }
        let containers = [
            &spec.init_containers,
            &spec.containers,
            &spec.ephemeral_containers,
        ];
        for c in containers.into_iter().flatten().flatten() {
            for e in c.env_from.iter().flatten() {
                refs.secret(NameRef::get(&e.secret_ref));
                refs.config_map(NameRef::get(&e.config_map_ref));
            }
            for e in c.env.iter().flatten() {
                if let Some(from) = &e.value_from {
                    refs.secret(NameRef::get(&from.secret_key_ref));
                    refs.config_map(NameRef::get(&from.config_map_key_ref));
                }
            }
        }
        for v in spec.volumes.iter().flatten() {
            refs.volume(v, &name);
        }
        let resource_claims = resolve_claims(&raw, &name);
        PodView {
            namespace: meta.namespace(),
            generate_name: meta.generate_name.clone().unwrap_or_default(),
            uid: meta.uid(),
            labels: meta.labels(),
            owner_references: meta
                .owner_references
                .iter()
                .flatten()
                .map(|o| OwnerReference {
                    api_version: o.api_version.clone().unwrap_or_default(),
                    kind: o.kind.clone().unwrap_or_default(),
                    name: o.name.clone().unwrap_or_default(),
                    uid: o.uid.clone().unwrap_or_default(),
                    controller: o.controller,
                    block_owner_deletion: o.block_owner_deletion,
                })
                .collect(),
            node_name: spec.node_name.clone().unwrap_or_default(),
            service_account_name: spec.service_account_name.clone().unwrap_or_default(),
            mirror: meta.has_annotation(MIRROR_POD_ANNOTATION),
            secrets: sorted_set(refs.secrets),
            config_maps: sorted_set(refs.config_maps),
            claim_volumes: sorted_set(refs.claim_volumes),
            ephemeral_pvcs: sorted_set(refs.ephemeral_pvcs),
            resource_claims,
            resource_claim_statuses: raw
                .status
                .resource_claim_statuses
                .iter()
                .flatten()
                .map(|s| {
                    (
                        s.name.clone().unwrap_or_default(),
                        s.resource_claim_name.clone(),
                    )
                })
                .collect(),
            token_audiences: refs.token_audiences,
            csi_drivers: sorted_set(refs.csi_drivers),
            cluster_trust_bundles: refs.cluster_trust_bundles,
            name,
        }
    }
}

/// Spec 6.5: claims by name, template claims through `status.resourceClaimStatuses`, and the
/// 1.34 extended-resource claim.
fn resolve_claims(raw: &RawPod, pod_name: &str) -> Vec<String> {
    let statuses = raw.status.resource_claim_statuses.as_deref().unwrap_or(&[]);
    let mut out = Vec::new();
    for c in raw.spec.resource_claims.iter().flatten() {
        let pod_claim = c.name.as_deref().unwrap_or("");
        if let Some(n) = non_empty(&c.resource_claim_name) {
            out.push(n.to_string());
        } else if non_empty(&c.resource_claim_template_name).is_some() {
            // Since 1.28 the generated name is only known from the pod's status.
            let claim = statuses
                .iter()
                .find(|s| s.name.as_deref() == Some(pod_claim))
                .and_then(|s| non_empty(&s.resource_claim_name));
            if let Some(n) = claim {
                out.push(n.to_string());
            }
        } else if let Some(src) = &c.source {
            // The 1.26-1.27 API nested the choice in `source`; template claims were then named
            // `<pod name>-<pod claim name>`.
            if let Some(n) = non_empty(&src.resource_claim_name) {
                out.push(n.to_string());
            } else if non_empty(&src.resource_claim_template_name).is_some() {
                out.push(format!("{pod_name}-{pod_claim}"));
            }
        }
    }
    if let Some(ext) = &raw.status.extended_resource_claim_status {
        if let Some(n) = non_empty(&ext.resource_claim_name) {
            out.push(n.to_string());
        }
    }
    sorted_set(out)
}

#[derive(Default)]
struct Refs {
    secrets: Vec<String>,
    config_maps: Vec<String>,
    claim_volumes: Vec<String>,
    ephemeral_pvcs: Vec<String>,
    token_audiences: Vec<String>,
    csi_drivers: Vec<String>,
    cluster_trust_bundles: bool,
}

impl Refs {
    fn secret(&mut self, name: Option<&str>) {
        if let Some(n) = name.filter(|n| !n.is_empty()) {
            self.secrets.push(n.to_string());
        }
    }

    fn config_map(&mut self, name: Option<&str>) {
        if let Some(n) = name.filter(|n| !n.is_empty()) {
            self.config_maps.push(n.to_string());
        }
    }

    /// A volume has one source. Secrets are looked up in upstream's switch order
    /// (`VisitPodSecretNames`), config maps in theirs, so even an invalid multi-source volume
    /// yields what the apiserver would.
    fn volume(&mut self, v: &RawVolume, pod_name: &str) {
        let secret = if let Some(s) = &v.azure_file {
            Some(s.secret_name.as_deref())
        } else if let Some(s) = &v.cephfs {
            Some(NameRef::get(&s.secret_ref))
        } else if let Some(s) = &v.cinder {
            Some(NameRef::get(&s.secret_ref))
        } else if let Some(s) = &v.flex_volume {
            Some(NameRef::get(&s.secret_ref))
        } else if let Some(p) = &v.projected {
            for src in p.sources.iter().flatten() {
                self.secret(NameRef::get(&src.secret));
            }
            None
        } else if let Some(s) = &v.rbd {
            Some(NameRef::get(&s.secret_ref))
        } else if let Some(s) = &v.secret {
            Some(s.secret_name.as_deref())
        } else if let Some(s) = &v.scale_io {
            Some(NameRef::get(&s.secret_ref))
        } else if let Some(s) = &v.iscsi {
            Some(NameRef::get(&s.secret_ref))
        } else if let Some(s) = &v.storageos {
            Some(NameRef::get(&s.secret_ref))
        } else {
            v.csi
                .as_ref()
                .map(|s| NameRef::get(&s.node_publish_secret_ref))
        };
        self.secret(secret.flatten());

        if let Some(c) = &v.config_map {
            self.config_map(c.name.as_deref());
        } else if let Some(p) = &v.projected {
            for src in p.sources.iter().flatten() {
                self.config_map(NameRef::get(&src.config_map));
            }
        }

        if let Some(p) = &v.projected {
            for src in p.sources.iter().flatten() {
                if let Some(t) = &src.service_account_token {
                    self.token_audiences
                        .push(t.audience.clone().unwrap_or_default());
                }
                self.cluster_trust_bundles |= src.cluster_trust_bundle.is_some();
            }
        }
        if let Some(c) = &v.persistent_volume_claim {
            if let Some(n) = non_empty(&c.claim_name) {
                self.claim_volumes.push(n.to_string());
            }
        }
        if v.ephemeral.is_some() {
            let vol = v.name.as_deref().unwrap_or("");
            self.ephemeral_pvcs.push(format!("{pod_name}-{vol}"));
        }
        if let Some(c) = &v.csi {
            if let Some(d) = non_empty(&c.driver) {
                self.csi_drivers.push(d.to_string());
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawPod {
    metadata: RawMeta,
    spec: RawPodSpec,
    status: RawPodStatus,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawPodSpec {
    node_name: Option<String>,
    service_account_name: Option<String>,
    image_pull_secrets: Option<Vec<NameRef>>,
    init_containers: Option<Vec<RawContainer>>,
    containers: Option<Vec<RawContainer>>,
    ephemeral_containers: Option<Vec<RawContainer>>,
    volumes: Option<Vec<RawVolume>>,
    resource_claims: Option<Vec<RawPodResourceClaim>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawContainer {
    env: Option<Vec<RawEnv>>,
    env_from: Option<Vec<RawEnvFrom>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawEnv {
    value_from: Option<RawEnvSource>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawEnvSource {
    secret_key_ref: Option<NameRef>,
    config_map_key_ref: Option<NameRef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawEnvFrom {
    secret_ref: Option<NameRef>,
    config_map_ref: Option<NameRef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawVolume {
    name: Option<String>,
    secret: Option<RawSecretVolume>,
    config_map: Option<NameRef>,
    projected: Option<RawProjected>,
    azure_file: Option<RawSecretVolume>,
    cephfs: Option<WithSecretRef<NameRef>>,
    cinder: Option<WithSecretRef<NameRef>>,
    flex_volume: Option<WithSecretRef<NameRef>>,
    rbd: Option<WithSecretRef<NameRef>>,
    #[serde(rename = "scaleIO")]
    scale_io: Option<WithSecretRef<NameRef>>,
    iscsi: Option<WithSecretRef<NameRef>>,
    storageos: Option<WithSecretRef<NameRef>>,
    csi: Option<RawInlineCsi>,
    persistent_volume_claim: Option<RawClaimSource>,
    ephemeral: Option<IgnoredAny>,
}

/// `secret.secretName` and `azureFile.secretName`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawSecretVolume {
    secret_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawInlineCsi {
    driver: Option<String>,
    node_publish_secret_ref: Option<NameRef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawClaimSource {
    claim_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawProjected {
    sources: Option<Vec<RawProjection>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawProjection {
    secret: Option<NameRef>,
    config_map: Option<NameRef>,
    service_account_token: Option<RawTokenProjection>,
    cluster_trust_bundle: Option<IgnoredAny>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawTokenProjection {
    audience: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawPodResourceClaim {
    name: Option<String>,
    resource_claim_name: Option<String>,
    resource_claim_template_name: Option<String>,
    source: Option<RawClaimChoice>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawClaimChoice {
    resource_claim_name: Option<String>,
    resource_claim_template_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawPodStatus {
    resource_claim_statuses: Option<Vec<RawClaimStatus>>,
    extended_resource_claim_status: Option<RawClaimChoice>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RawClaimStatus {
    name: Option<String>,
    resource_claim_name: Option<String>,
}
