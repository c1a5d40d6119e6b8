//! Kubernetes objects: loading dumps (`kubectl get -o json|yaml`), the views of each kind the
//! authorizers need, and the RBAC objects (built-in bootstrap policy included).

pub mod rbac_types;
