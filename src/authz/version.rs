//! The Kubernetes release being modelled and its feature gates.
//!
//! Behaviour differs by release (reason-string quoting, which resources the Node authorizer
//! handles, which NodeRestriction checks exist) and by feature gate. Gates are parsed from
//! `--feature-gates` in the apiserver's own syntax and defaulted per release as upstream's
//! `kube_features.go` did for that release. Only the gates the model consults are known here;
//! other gate names are kept in [`FeatureGates::ignored`] so a caller can warn about them
//! (an apiserver config usually carries gates that do not concern nodes).

use std::fmt;

/// A Kubernetes minor release (`1.31`); patch versions do not change authorizer behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KubeVersion {
    pub major: u32,
    pub minor: u32,
}

/// Errors in `--kube-version` or `--feature-gates`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("invalid Kubernetes version {0:?}: expected MAJOR.MINOR such as 1.31 or v1.30.2")]
    Invalid(String),
    #[error("Kubernetes version {0} is not supported: supported releases are 1.14 to 1.34")]
    Unsupported(KubeVersion),
    #[error("invalid --feature-gates entry {0:?}: expected NAME=true or NAME=false")]
    GateSyntax(String),
    #[error("invalid value of feature gate {name}: {value:?} is not a boolean")]
    GateValue { name: String, value: String },
    #[error("unrecognized feature gate: {name} (it does not exist in Kubernetes {version})")]
    GateUnknownInVersion { name: String, version: KubeVersion },
    #[error("cannot set feature gate {name} to {value}, feature is locked to {locked}")]
    GateLocked {
        name: String,
        value: bool,
        locked: bool,
    },
}

impl KubeVersion {
    /// The oldest release modelled.
    pub const OLDEST: KubeVersion = KubeVersion::new(1, 14);
    /// The newest release modelled, and the default.
    pub const NEWEST: KubeVersion = KubeVersion::new(1, 34);

    /// A version from its parts.
    pub const fn new(major: u32, minor: u32) -> Self {
        KubeVersion { major, minor }
    }

    /// Parses `1.19`, `v1.30.2`, `1.31.0-rc.1`; rejects releases outside 1.14..=1.34.
    pub fn parse(s: &str) -> Result<Self, VersionError> {
        let invalid = || VersionError::Invalid(s.to_string());
        let t = s.trim();
        let t = t.strip_prefix('v').unwrap_or(t);
        let mut parts = t.splitn(3, '.');
        let major = parts
            .next()
            .and_then(|p| p.parse::<u32>().ok())
            .ok_or_else(invalid)?;
        let minor_raw = parts.next().ok_or_else(invalid)?;
        // A pre-release suffix may follow the minor when no patch is given (`1.31-rc.0`).
        let minor_digits: &str = minor_raw
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap_or("");
        let minor = minor_digits.parse::<u32>().map_err(|_| invalid())?;
        if let Some(patch) = parts.next() {
            let digits = patch
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap_or("");
            if digits.is_empty() {
                return Err(invalid());
            }
        }
        let v = KubeVersion::new(major, minor);
        if v < Self::OLDEST || v > Self::NEWEST {
            return Err(VersionError::Unsupported(v));
        }
        Ok(v)
    }

    /// True from release `1.<minor>` on.
    pub fn at_least(self, minor: u32) -> bool {
        self >= KubeVersion::new(1, minor)
    }

    /// Releases 1.14 to 1.17 quoted the node name with Go `%q` in the graph-failure reason
    /// (spec 13.1); later releases use single quotes.
    pub fn uses_go_quoted_node_reason(self) -> bool {
        !self.at_least(18)
    }
}

impl Default for KubeVersion {
    fn default() -> Self {
        Self::NEWEST
    }
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// The feature gates the model consults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Gate {
    /// Pods and nodes handled by the Node authorizer; selector-scoped ResourceSlice lists.
    AuthorizeNodeWithSelectors,
    /// Field and label selectors are passed to authorizers at all.
    AuthorizeWithSelectors,
    /// ResourceClaim / ResourceSlice rules in `system:node` (rows 23-24 of spec 8).
    DynamicResourceAllocation,
    /// NodeRestriction checks the audience of node-requested service-account tokens.
    ServiceAccountNodeAudienceRestriction,
    /// `get serviceaccounts` for kubelets (static row 26 and the 1.33 authorizer branch).
    KubeletServiceAccountTokenForCredentialProviders,
    /// When on, NodeRestriction skips the kubelet CSR common-name check.
    AllowInsecureKubeletCertificateSigningRequests,
    /// NodeRestriction ignores `status.allocatedResources*` when comparing PVC status updates.
    RecoverVolumeExpansionFailure,
    /// `clustertrustbundles` read rule in `system:node` (static row 25).
    ClusterTrustBundleProjection,
    /// Old gate (GA 1.20): service-account token requests.
    TokenRequest,
    /// Old gate (GA 1.17): node leases.
    NodeLease,
    /// Old gate (GA 1.17): CSINode objects.
    CSINodeInfo,
    /// Old gate (GA 1.24): PVC status updates by nodes.
    ExpandPersistentVolumes,
}

/// Every gate, for iteration.
pub const ALL_GATES: [Gate; 12] = [
    Gate::AuthorizeNodeWithSelectors,
    Gate::AuthorizeWithSelectors,
    Gate::DynamicResourceAllocation,
    Gate::ServiceAccountNodeAudienceRestriction,
    Gate::KubeletServiceAccountTokenForCredentialProviders,
    Gate::AllowInsecureKubeletCertificateSigningRequests,
    Gate::RecoverVolumeExpansionFailure,
    Gate::ClusterTrustBundleProjection,
    Gate::TokenRequest,
    Gate::NodeLease,
    Gate::CSINodeInfo,
    Gate::ExpandPersistentVolumes,
];

/// What a gate is in one release: absent, a default that may be overridden, or locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateState {
    /// The gate does not exist in that release; [`Gate::absent_value`] says how the release
    /// behaves.
    Absent,
    /// Settable, with this default.
    Default(bool),
    /// GA or deprecated and locked to this value.
    Locked(bool),
}

impl Gate {
    /// The name used in `--feature-gates`.
    pub fn name(self) -> &'static str {
        match self {
            Gate::AuthorizeNodeWithSelectors => "AuthorizeNodeWithSelectors",
            Gate::AuthorizeWithSelectors => "AuthorizeWithSelectors",
            Gate::DynamicResourceAllocation => "DynamicResourceAllocation",
            Gate::ServiceAccountNodeAudienceRestriction => "ServiceAccountNodeAudienceRestriction",
            Gate::KubeletServiceAccountTokenForCredentialProviders => {
                "KubeletServiceAccountTokenForCredentialProviders"
            }
            Gate::AllowInsecureKubeletCertificateSigningRequests => {
                "AllowInsecureKubeletCertificateSigningRequests"
            }
            Gate::RecoverVolumeExpansionFailure => "RecoverVolumeExpansionFailure",
            Gate::ClusterTrustBundleProjection => "ClusterTrustBundleProjection",
            Gate::TokenRequest => "TokenRequest",
            Gate::NodeLease => "NodeLease",
            Gate::CSINodeInfo => "CSINodeInfo",
            Gate::ExpandPersistentVolumes => "ExpandPersistentVolumes",
        }
    }

    /// Looks a gate up by its `--feature-gates` name.
    pub fn from_name(name: &str) -> Option<Gate> {
        ALL_GATES.iter().copied().find(|g| g.name() == name)
    }

    /// How a release behaves where the gate does not exist: before a feature existed it is
    /// off; after an old gate was removed its feature is simply on. The CSR check did not
    /// exist before 1.31, which is the same as "insecure requests allowed".
    pub fn absent_value(self, v: KubeVersion) -> bool {
        match self {
            Gate::TokenRequest
            | Gate::NodeLease
            | Gate::CSINodeInfo
            | Gate::ExpandPersistentVolumes => true,
            Gate::AllowInsecureKubeletCertificateSigningRequests => !v.at_least(31),
            _ => false,
        }
    }

    /// The state of the gate in release `v`.
    ///
    /// Sources: spec section 13 and upstream `kube_features.go`. DynamicResourceAllocation is
    /// alpha 1.26-1.31 and beta 1.32-1.33, off by default throughout (its beta API group is off
    /// by default too), and GA in 1.34, on by default but not yet locked (`LockToDefault` only
    /// from 1.35 in `kube_features.go`). ClusterTrustBundleProjection stays off by
    /// default up to 1.34. The four old gates were all beta-on or GA in 1.14, so their
    /// "disabled by feature gate" branches only fire when explicitly switched off.
    pub fn state(self, v: KubeVersion) -> GateState {
        use GateState::*;
        let m = if v.major == 1 { v.minor } else { u32::MAX };
        match self {
            Gate::AuthorizeNodeWithSelectors | Gate::AuthorizeWithSelectors => match m {
                0..=30 => Absent,
                31 => Default(false),
                32 | 33 => Default(true),
                _ => Locked(true),
            },
            // GA in 1.34 but still settable; upstream locks it to the default only from 1.35.
            Gate::DynamicResourceAllocation => match m {
                0..=25 => Absent,
                26..=33 => Default(false),
                34 => Default(true),
                _ => Locked(true),
            },
            Gate::ServiceAccountNodeAudienceRestriction => match m {
                0..=31 => Absent,
                32 => Default(false),
                _ => Default(true),
            },
            Gate::KubeletServiceAccountTokenForCredentialProviders => match m {
                0..=32 => Absent,
                33 => Default(false),
                _ => Default(true),
            },
            Gate::AllowInsecureKubeletCertificateSigningRequests => match m {
                0..=30 => Absent,
                _ => Default(false),
            },
            Gate::RecoverVolumeExpansionFailure => match m {
                0..=22 => Absent,
                23..=31 => Default(false),
                32 | 33 => Default(true),
                _ => Locked(true),
            },
            Gate::ClusterTrustBundleProjection => match m {
                0..=28 => Absent,
                _ => Default(false),
            },
            Gate::TokenRequest => match m {
                0..=19 => Default(true),
                20 | 21 => Locked(true),
                _ => Absent,
            },
            Gate::NodeLease => match m {
                0..=16 => Default(true),
                17..=22 => Locked(true),
                _ => Absent,
            },
            Gate::CSINodeInfo => match m {
                0..=16 => Default(true),
                17 | 18 => Locked(true),
                _ => Absent,
            },
            Gate::ExpandPersistentVolumes => match m {
                0..=23 => Default(true),
                24..=26 => Locked(true),
                _ => Absent,
            },
        }
    }
}

/// The maturity of a gate in one release (what `AllAlpha` / `AllBeta` act on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Alpha,
    Beta,
    Ga,
    Deprecated,
}

impl Gate {
    /// The gate's stage in release `v`; `None` where the gate does not exist.
    pub fn stage(self, v: KubeVersion) -> Option<Stage> {
        use Stage::*;
        if self.state(v) == GateState::Absent {
            return None;
        }
        let m = if v.major == 1 { v.minor } else { u32::MAX };
        Some(match self {
            Gate::AuthorizeNodeWithSelectors | Gate::AuthorizeWithSelectors => match m {
                31 => Alpha,
                32 | 33 => Beta,
                _ => Ga,
            },
            Gate::DynamicResourceAllocation => match m {
                0..=31 => Alpha,
                32 | 33 => Beta,
                _ => Ga,
            },
            Gate::ServiceAccountNodeAudienceRestriction => Beta,
            Gate::KubeletServiceAccountTokenForCredentialProviders => match m {
                33 => Alpha,
                _ => Beta,
            },
            Gate::AllowInsecureKubeletCertificateSigningRequests => Deprecated,
            Gate::RecoverVolumeExpansionFailure => match m {
                0..=31 => Alpha,
                32 | 33 => Beta,
                _ => Ga,
            },
            Gate::ClusterTrustBundleProjection => match m {
                0..=32 => Alpha,
                _ => Beta,
            },
            Gate::TokenRequest => match m {
                0..=19 => Beta,
                _ => Ga,
            },
            Gate::NodeLease | Gate::CSINodeInfo => match m {
                0..=16 => Beta,
                _ => Ga,
            },
            Gate::ExpandPersistentVolumes => match m {
                0..=23 => Beta,
                _ => Ga,
            },
        })
    }
}

/// Effective feature gates for one release: defaults overridden by `--feature-gates`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureGates {
    version: KubeVersion,
    values: [bool; ALL_GATES.len()],
    /// Gate names given in `--feature-gates` that the model does not consult, with their values.
    pub ignored: Vec<(String, bool)>,
}

impl FeatureGates {
    /// The defaults of release `version`.
    pub fn defaults(version: KubeVersion) -> Self {
        let mut values = [false; ALL_GATES.len()];
        for (i, g) in ALL_GATES.iter().enumerate() {
            values[i] = match g.state(version) {
                GateState::Absent => g.absent_value(version),
                GateState::Default(b) | GateState::Locked(b) => b,
            };
        }
        FeatureGates {
            version,
            values,
            ignored: Vec::new(),
        }
    }

    /// Parses `--feature-gates` (`A=true,B=false`, whitespace around entries ignored, values as
    /// Go's `strconv.ParseBool`, `AllAlpha` / `AllBeta` honoured) on top of the defaults of
    /// `version`. Setting a modelled gate that does not exist in that release, or a locked gate
    /// to the other value, is an error, as it is for the apiserver.
    pub fn parse(version: KubeVersion, spec: Option<&str>) -> Result<Self, VersionError> {
        let mut gates = Self::defaults(version);
        let Some(spec) = spec else { return Ok(gates) };
        let (mut all_alpha, mut all_beta) = (None, None);
        let mut explicit: Vec<Gate> = Vec::new();
        for entry in spec.split(',') {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let (name, value) = entry
                .split_once('=')
                .ok_or_else(|| VersionError::GateSyntax(entry.to_string()))?;
            let name = name.trim();
            let value_raw = value.trim();
            let value = parse_go_bool(value_raw).ok_or_else(|| VersionError::GateValue {
                name: name.to_string(),
                value: value_raw.to_string(),
            })?;
            match (name, Gate::from_name(name)) {
                ("AllAlpha", _) => all_alpha = Some(value),
                ("AllBeta", _) => all_beta = Some(value),
                (_, Some(g)) => {
                    gates.set(g, value)?;
                    explicit.push(g);
                }
                (_, None) => gates.ignored.push((name.to_string(), value)),
            }
        }
        // As component-base's featuregate: AllAlpha/AllBeta set every settable gate of that
        // stage that was not named explicitly, whatever the order of the entries.
        for (stage, value) in [(Stage::Alpha, all_alpha), (Stage::Beta, all_beta)] {
            let Some(value) = value else { continue };
            for g in ALL_GATES {
                let settable = matches!(g.state(version), GateState::Default(_));
                if settable && g.stage(version) == Some(stage) && !explicit.contains(&g) {
                    gates.values[gate_index(g)] = value;
                }
            }
        }
        Ok(gates)
    }

    /// Overrides one gate, with the apiserver's checks.
    pub fn set(&mut self, gate: Gate, value: bool) -> Result<(), VersionError> {
        match gate.state(self.version) {
            GateState::Absent => Err(VersionError::GateUnknownInVersion {
                name: gate.name().to_string(),
                version: self.version,
            }),
            GateState::Locked(locked) if locked != value => Err(VersionError::GateLocked {
                name: gate.name().to_string(),
                value,
                locked,
            }),
            _ => {
                self.values[gate_index(gate)] = value;
                Ok(())
            }
        }
    }

    /// Whether the gate's feature is on.
    pub fn enabled(&self, gate: Gate) -> bool {
        self.values[gate_index(gate)]
    }

    /// The release these gates belong to.
    pub fn version(&self) -> KubeVersion {
        self.version
    }
}

fn gate_index(gate: Gate) -> usize {
    // ALL_GATES lists every variant in declaration order.
    gate as usize
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_index_matches_all_gates_order() {
        for (i, g) in ALL_GATES.iter().enumerate() {
            assert_eq!(gate_index(*g), i, "{g:?}");
        }
    }
}
