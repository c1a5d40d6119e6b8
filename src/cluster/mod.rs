//! Kubernetes objects: loading dumps (`kubectl get -o json|yaml`), the views of each kind the
//! authorizers need, and the RBAC objects (built-in bootstrap policy included).

pub mod bootstrap;
pub mod load;
mod meta;
pub mod objects;
pub mod pod;
pub mod rbac_types;
pub mod volume;
pub mod yaml;

pub use bootstrap::{bootstrap_policy, merge_policy, system_node_rules};
pub use load::{load_objects, LoadProblem, ObjectSet};
pub use objects::{NodeView, ResourceClaimView, ResourceSliceView, ServiceAccountView};
pub use pod::{OwnerReference, PodView, MIRROR_POD_ANNOTATION};
pub use rbac_types::{Binding, PolicyRule, RbacPolicy, Role};
pub use volume::{ClaimRef, PvSecretRef, PvView, PvcView, VolumeAttachmentView};
