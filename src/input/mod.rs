//! Turning inputs (files, directories, gzip, stdin) into audit events.
//!
//! `source` finds and opens inputs and hands out their bytes; `event` (JSON `Event` and
//! `EventList`) and `legacy` (the text format) parse one record; `uri` parses request URIs and
//! recomputes authorizer attributes; `time` parses timestamps.

pub mod event;
pub mod fast_event;
#[cfg(nodeauthz_isal)]
pub mod isal;
pub mod legacy;
pub mod source;
pub mod time;
pub mod uri;

pub use source::{InputSpec, Source, SourceKind};
