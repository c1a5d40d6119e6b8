//! nodeauthz: replays kubelet requests found in Kubernetes apiserver audit logs through a
//! model of the Node authorizer, the NodeRestriction admission plugin and RBAC.
//!
//! The data flow is `input` (bytes from files, gzip, stdin) → `scan` (parallel chunks,
//! pre-filter, borrowed parse, dedup by auditID) → `graph` (the Node authorizer's graph with
//! time) → `authz` (pure decisions) → `export` (Parquet, summary, reports).

pub mod allocator;
pub mod analyze;
pub mod apiserver;
pub mod authz;
pub mod cli;
pub mod cluster;
pub mod compare;
pub mod explain;
pub mod export;
pub mod findings;
pub mod free;
pub mod graph;
pub mod input;
pub mod inventory;
pub mod kubelet_log;
pub mod ordered;
pub mod phases;
pub mod record;
pub mod scan;
pub mod spill;
pub mod verdict;
