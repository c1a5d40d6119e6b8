//! `nodeauthz analyze`.

use super::{
    compare_columns, fail_on_code, input_specs, parse_instant, print, print_config_notes, usage,
    Format, ReadArgs, ScenarioArgs, EXIT_ERROR, EXIT_NOTHING_READ, EXIT_STRICT,
};
use crate::analyze::{analyze, AnalysisError, AnalyzeOptions, RequestFilter, ScenarioFlags};
use crate::export::parquet::PartitionBy;
use crate::export::report::{render, Style};
use crate::export::summary::FailOn;
use crate::scan::ScanError;
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Layout of `requests` under `--out`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Partition {
    Date,
    Node,
}

/// The arguments only a full analysis uses (the scenario, the recorded configuration, the
/// outputs of verdicts, the request filters, the spill file): `--inventory-only` with one of
/// them is refused, rather than run without it.
const VERDICT_ARGS: [&str; 20] = [
    "objects",
    "no_bootstrap_policy",
    "authorization_mode",
    "enable_admission_plugins",
    "disable_admission_plugins",
    "kube_version",
    "feature_gates",
    "drop_binding",
    "legacy_binding",
    "apiserver_manifest",
    "apiserver_flags",
    "recorded_authorization_mode",
    "compare",
    "out",
    "partition_by",
    "node",
    "since",
    "until",
    "fail_on",
    "spill_dir",
];

#[derive(Args)]
pub(crate) struct AnalyzeArgs {
    /// Audit logs: files, directories (walked recursively), `.gz` files, or `-` for stdin.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<String>,
    #[command(flatten)]
    read: ReadArgs,
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// The authorization modes the logs were recorded under (inferred from the recorded
    /// reasons when absent), to measure how often the model agrees with the real apiserver.
    #[arg(long, value_name = "MODES")]
    recorded_authorization_mode: Option<String>,
    /// More scenarios to show side by side, e.g. "RBAC" "RBAC+binding:system:node" "Node,RBAC".
    /// Modifiers: +binding:system:node, -binding:KIND/NAME, +NodeRestriction, -NodeRestriction,
    /// @VERSION.
    #[arg(long, num_args = 1.., value_name = "SCENARIO")]
    compare: Vec<String>,
    /// Write requests.parquet, findings.parquet, summary.json, report.md and report.html here.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Write requests as a hive-partitioned directory instead of one file.
    #[arg(long, value_enum, requires = "out")]
    partition_by: Option<Partition>,
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Only requests from these nodes.
    #[arg(long, value_name = "NAME")]
    node: Vec<String>,
    /// Only requests at or after this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Only requests before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// Exit with a distinct code (10 would_break, 11 forbidden, 12 relies_on_rbac,
    /// 13 indeterminate, 14 allowed_by_node) when any request has that verdict or change.
    #[arg(long, value_name = "VERDICT")]
    fail_on: Vec<String>,
    /// Only the inventory: count the kubelet requests by node, verb and resource with what
    /// the apiserver recorded for them, without the graph or any verdict (a faster first look
    /// at large logs). Prints a table or JSON (`--format table|json`).
    #[arg(long, conflicts_with_all = VERDICT_ARGS)]
    inventory_only: bool,
    /// Where kubelet requests wait, in an unnamed temporary file, while the logs are read
    /// (about a sixth of the logs' size); default: $TMPDIR or /tmp. Use a disk, not a tmpfs,
    /// for logs larger than RAM.
    #[arg(long, value_name = "DIR")]
    spill_dir: Option<PathBuf>,
}

pub(crate) fn run(args: &AnalyzeArgs) -> ExitCode {
    if args.inventory_only {
        return run_inventory(args);
    }
    let (target, config) = match args.scenario.flags() {
        Ok(f) => f,
        Err(e) => return usage(&e),
    };
    if let Some(c) = &config {
        print_config_notes(c);
    }
    let compare = match compare_columns(&args.compare, &target) {
        Ok(c) => c,
        Err(e) => return usage(&e),
    };
    let mut fail_on = Vec::new();
    for f in &args.fail_on {
        match (FailOn::parse(f), fail_on_code(f)) {
            (Some(rule), Some(code)) => fail_on.push((rule, code)),
            _ => {
                return usage(&format!(
                "--fail-on {f:?}: expected would_break, forbidden, relies_on_rbac, indeterminate or allowed_by_node"
            ))
            }
        }
    }
    let since = match args.since.as_deref().map(parse_instant).transpose() {
        Ok(t) => t,
        Err(e) => return usage(&format!("--since: {e}")),
    };
    let until = match args.until.as_deref().map(parse_instant).transpose() {
        Ok(t) => t,
        Err(e) => return usage(&format!("--until: {e}")),
    };
    let recorded = args
        .recorded_authorization_mode
        .as_ref()
        .map(|m| ScenarioFlags {
            authorization_mode: m.clone(),
            ..target.clone()
        });
    let opts = AnalyzeOptions {
        inputs: input_specs(&args.inputs),
        objects: args.scenario.objects.clone(),
        no_bootstrap_policy: args.scenario.no_bootstrap_policy,
        scan: args.read.options(),
        target,
        recorded,
        filter: RequestFilter {
            nodes: args.node.clone(),
            since,
            until,
        },
        out: args.out.clone(),
        partition_by: args.partition_by.map(|p| match p {
            Partition::Date => PartitionBy::Date,
            Partition::Node => PartitionBy::Node,
        }),
        compare,
        spill_dir: args.spill_dir.clone(),
    };
    let jsonl = args.format == Format::Jsonl;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut on_row = |row: &crate::verdict::RequestVerdict| {
        if jsonl {
            if let Ok(line) = serde_json::to_string(row) {
                let _ = writeln!(out, "{line}");
            }
        }
    };
    let result = analyze(&opts, &mut on_row);
    let _ = out.flush();
    drop(out);
    let analysis = match result {
        Ok(a) => a,
        Err(AnalysisError::Scan(e @ ScanError::Strict { .. })) => {
            eprintln!("nodeauthz: {e}");
            return ExitCode::from(EXIT_STRICT);
        }
        Err(AnalysisError::Scenario(e)) => return usage(&e.to_string()),
        Err(e) => {
            eprintln!("nodeauthz: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    for p in &analysis.problems {
        eprintln!("nodeauthz: {p}");
    }
    match args.format {
        Format::Jsonl => {}
        Format::Table => {
            let mut text = analysis.inventory.to_table();
            text.push('\n');
            text.push_str(&render(&analysis.summary, Style::Text));
            if let Some(c) = &analysis.summary.comparison {
                text.push_str("\nScenarios side by side\n");
                text.push_str(&crate::compare::render(c, false));
            }
            print(&text);
        }
        Format::Markdown => {
            let mut text = render(&analysis.summary, Style::Markdown);
            if let Some(c) = &analysis.summary.comparison {
                text.push_str("\n## Scenarios side by side\n\n");
                text.push_str(&crate::compare::render(c, true));
            }
            print(&text);
        }
        Format::Json => {
            let mut doc = serde_json::to_value(&analysis.inventory).unwrap_or_default();
            if let Some(obj) = doc.as_object_mut() {
                obj.insert(
                    "summary".into(),
                    serde_json::to_value(&analysis.summary).unwrap_or_default(),
                );
                // Also at the top level, where scripts look for the side-by-side columns.
                obj.insert(
                    "comparison".into(),
                    serde_json::to_value(&analysis.summary.comparison).unwrap_or_default(),
                );
                obj.insert(
                    "problems".into(),
                    serde_json::to_value(&analysis.problems).unwrap_or_default(),
                );
            }
            print(&(serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"));
        }
    }
    if analysis.scan.nothing_read() {
        eprintln!("nodeauthz: nothing could be read from the inputs");
        return ExitCode::from(EXIT_NOTHING_READ);
    }
    for (rule, code) in fail_on {
        if rule.triggered(&analysis.summary.totals) {
            return ExitCode::from(code);
        }
    }
    ExitCode::SUCCESS
}

/// `analyze --inventory-only`.
fn run_inventory(args: &AnalyzeArgs) -> ExitCode {
    // Refused before the logs are read, which may take a while.
    let json = match args.format {
        Format::Table => false,
        Format::Json => true,
        Format::Jsonl | Format::Markdown => {
            return usage("--inventory-only prints a table or JSON (--format table|json)")
        }
    };
    let (inventory, scan) =
        match crate::inventory::read(&input_specs(&args.inputs), &args.read.options()) {
            Ok(read) => read,
            Err(e @ ScanError::Strict { .. }) => {
                eprintln!("nodeauthz: {e}");
                return ExitCode::from(EXIT_STRICT);
            }
            Err(e) => {
                eprintln!("nodeauthz: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        };
    if json {
        print(&(inventory.to_json() + "\n"));
    } else {
        print(&inventory.to_table());
    }
    if scan.nothing_read() {
        eprintln!("nodeauthz: nothing could be read from the inputs");
        return ExitCode::from(EXIT_NOTHING_READ);
    }
    ExitCode::SUCCESS
}
