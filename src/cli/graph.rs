//! `nodeauthz graph`.

use super::{input_specs, parse_instant, print, usage, ReadArgs, EXIT_ERROR};
use crate::cluster::load_objects;
use crate::graph::build_graph_with;
use crate::graph::sightings::PodSightings;
use crate::scan::{scan, ScanOptions};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub(crate) struct GraphArgs {
    /// Cluster dumps (`kubectl get … -o json|yaml`, a List, multi-document YAML, or a directory).
    #[arg(long, num_args = 1.., value_name = "FILE", required = true)]
    objects: Vec<PathBuf>,
    /// Audit logs whose object events (pod creates, bindings, deletions, …) change the graph.
    #[arg(value_name = "INPUT")]
    inputs: Vec<String>,
    #[command(flatten)]
    read: ReadArgs,
    /// Show the graph at this instant (RFC 3339); every edge with its intervals when absent.
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Only edges on a path to this node.
    #[arg(long, value_name = "NAME")]
    node: Option<String>,
}

pub(crate) fn run(args: &GraphArgs) -> ExitCode {
    let at = match args.at.as_deref().map(parse_instant).transpose() {
        Ok(t) => t,
        Err(e) => return usage(&format!("--at: {e}")),
    };
    let objects = load_objects(&args.objects);
    for p in &objects.problems {
        eprintln!("nodeauthz: {p}");
    }
    let (events, sightings, window) = if args.inputs.is_empty() {
        (Vec::new(), PodSightings::default(), (0, 0))
    } else {
        let opts = ScanOptions {
            want_object_events: true,
            want_requests: false,
            ..args.read.options()
        };
        match scan(&input_specs(&args.inputs), &opts, &mut |_| {
            std::ops::ControlFlow::Continue(())
        }) {
            Ok(s) => {
                let first = s.inputs.iter().filter_map(|i| i.first_timestamp).min();
                let last = s.inputs.iter().filter_map(|i| i.last_timestamp).max();
                let window = (first.unwrap_or(0), last.unwrap_or(0));
                (s.object_events, s.pod_sightings, window)
            }
            Err(e) => {
                eprintln!("nodeauthz: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        }
    };
    let graph = build_graph_with(&objects, &events, &sightings, window);
    for p in &graph.problems {
        eprintln!("nodeauthz: {p}");
    }
    print(&graph.describe(args.node.as_deref(), at));
    ExitCode::SUCCESS
}
