//! `nodeauthz explain`: one audit event, or the refusals of a kubelet log.

use super::{
    compare_columns, input_specs, print, print_config_notes, usage, ReadArgs, ScenarioArgs,
    EXIT_ERROR, EXIT_NOTHING_READ,
};
use crate::analyze::{effective_policy, ScenarioFlags};
use crate::cluster::load_objects;
use crate::explain::{
    explain_attributes, explain_request, render_text, suggest_fixes, Explanation,
};
use crate::export::report::one_line;
use crate::graph::{build_graph, Graph};
use crate::kubelet_log::parse_kubelet_log;
use crate::scan::{scan_collect, ScanOptions};
use clap::{Args, ValueEnum};
use serde::Serialize;
use std::io::Read;
use std::process::ExitCode;

/// Output formats of `explain`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExplainFormat {
    Text,
    Json,
}

#[derive(Args)]
pub(crate) struct ExplainArgs {
    /// A file holding one audit event (JSON, one line or pretty-printed), or `-` for stdin.
    #[arg(value_name = "EVENT", required_unless_present = "kubelet_log")]
    event: Option<String>,
    /// A kubelet log (klog lines, raw or through journalctl), or `-` for stdin: every distinct
    /// refused request in it is explained, with the configuration change that fixes it.
    #[arg(long, value_name = "FILE", conflicts_with = "event")]
    kubelet_log: Option<String>,
    #[command(flatten)]
    read: ReadArgs,
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// Explain under several scenarios side by side (same syntax as `analyze --compare`).
    #[arg(long, num_args = 1.., value_name = "SCENARIO")]
    compare: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
    format: ExplainFormat,
}

/// One kubelet-log refusal, explained.
#[derive(Serialize)]
struct KubeletLogEntry {
    /// The refused request as the kubelet logged it.
    message: String,
    /// How many lines logged it, and the first.
    count: u64,
    first_line: u64,
    /// `node "x" not found` lines tied to it.
    node_not_found_lines: Vec<u64>,
    /// Under the scenario.
    explanation: Explanation,
    /// Under each `--compare` column.
    compared: Vec<(String, Explanation)>,
}

/// The whole `explain --kubelet-log` answer.
#[derive(Serialize)]
struct KubeletLogDiagnosis {
    scenario: String,
    lines: u64,
    skipped: u64,
    refusals: u64,
    distinct: Vec<KubeletLogEntry>,
    fixes: Vec<crate::explain::Fix>,
    /// The smallest change that allows every refused request, if any.
    fix: Option<String>,
}

fn read_text(path: &str) -> Result<String, String> {
    if path == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("stdin: {e}"))?;
        Ok(s)
    } else {
        let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

pub(crate) fn run(args: &ExplainArgs) -> ExitCode {
    let (flags, config) = match args.scenario.flags() {
        Ok(f) => f,
        Err(e) => return usage(&e),
    };
    if let Some(c) = &config {
        print_config_notes(c);
    }
    let columns = match compare_columns(&args.compare, &flags) {
        Ok(c) => c,
        Err(e) => return usage(&e),
    };
    let objects = load_objects(&args.scenario.objects);
    for p in &objects.problems {
        eprintln!("nodeauthz: {p}");
    }
    let policy = effective_policy(&objects, args.scenario.no_bootstrap_policy);
    let graph = build_graph(&objects, &[], (0, 0));
    let scenario = match flags.scenario(policy.clone()) {
        Ok(s) => s,
        Err(e) => return usage(&e.to_string()),
    };
    let mut compared = Vec::new();
    for (label, f) in &columns {
        match f.scenario(policy.clone()) {
            Ok(s) => compared.push((label.clone(), s)),
            Err(e) => return usage(&e.to_string()),
        }
    }
    if let Some(log) = &args.kubelet_log {
        return explain_kubelet_log(args, log, &flags, &policy, &graph, &scenario, &compared);
    }
    let Some(event) = &args.event else {
        return usage("give an audit event file or --kubelet-log");
    };
    let opts = ScanOptions {
        want_object_events: false,
        progress: false,
        ..args.read.options()
    };
    let requests = match scan_collect(&input_specs(std::slice::from_ref(event)), &opts) {
        Ok((requests, summary)) => {
            if summary.nothing_read() {
                eprintln!("nodeauthz: {event}: no audit event could be read");
                return ExitCode::from(EXIT_NOTHING_READ);
            }
            requests
        }
        Err(e) => {
            eprintln!("nodeauthz: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let Some(req) = requests.first() else {
        eprintln!("nodeauthz: {event}: no kubelet request in it (user system:node:*, an impersonated node, or a kubelet/ user agent)");
        return ExitCode::from(EXIT_ERROR);
    };
    if requests.len() > 1 {
        eprintln!(
            "nodeauthz: {event}: {} kubelet requests; explaining the first",
            requests.len()
        );
    }
    let explanation = explain_request(&scenario, req, &graph);
    match args.format {
        ExplainFormat::Json => {
            let mut doc = serde_json::to_value(&explanation).unwrap_or_default();
            if !compared.is_empty() {
                if let Some(obj) = doc.as_object_mut() {
                    let cols: Vec<(String, Explanation)> = compared
                        .iter()
                        .map(|(l, s)| (l.clone(), explain_request(s, req, &graph)))
                        .collect();
                    obj.insert(
                        "compared".into(),
                        serde_json::to_value(cols).unwrap_or_default(),
                    );
                }
            }
            print(&(serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"));
        }
        ExplainFormat::Text => {
            let mut text = format!("scenario:         {}\n", flags.label());
            text.push_str(&render_text(&explanation));
            for (label, s) in &compared {
                text.push_str(&format!("\nunder {label}:\n"));
                text.push_str(&render_text(&explain_request(s, req, &graph)));
            }
            print(&text);
        }
    }
    ExitCode::SUCCESS
}

fn explain_kubelet_log(
    args: &ExplainArgs,
    log: &str,
    flags: &ScenarioFlags,
    policy: &crate::cluster::RbacPolicy,
    graph: &Graph,
    scenario: &crate::authz::chain::Scenario,
    compared: &[(String, crate::authz::chain::Scenario)],
) -> ExitCode {
    let text = match read_text(log) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("nodeauthz: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let report = parse_kubelet_log(&text);
    // Time plays no part for kubelet-log entries: the graph holds only the dump, valid always.
    let at = 0;
    let mut entries = Vec::new();
    let mut refused = Vec::new();
    for d in &report.distinct {
        let Some(first) = report.denied.iter().find(|r| r.line == d.first_line) else {
            continue;
        };
        let attrs = first.attributes();
        let explanation = explain_attributes(scenario, &attrs, None, graph, at);
        // The kubelet logged authorization refusals: a fix is needed only for what the
        // scenario's authorizers still refuse (admission is shown per request).
        if !scenario.authorized(&attrs, graph, at) {
            refused.push((attrs.clone(), at));
        }
        let node_not_found_lines = report
            .node_not_found
            .iter()
            .filter(|n| {
                n.related_denials
                    .iter()
                    .any(|i| report.denied.get(*i).map(|r| r.key()) == Some(d.key.clone()))
            })
            .map(|n| n.line)
            .collect();
        entries.push(KubeletLogEntry {
            message: first.message.clone(),
            count: d.count,
            first_line: d.first_line,
            node_not_found_lines,
            compared: compared
                .iter()
                .map(|(l, s)| (l.clone(), explain_attributes(s, &attrs, None, graph, at)))
                .collect(),
            explanation,
        });
    }
    let fixes = match suggest_fixes(flags, policy, &refused, graph) {
        Ok(f) => f,
        Err(e) => return usage(&e.to_string()),
    };
    let fix = fixes
        .iter()
        .find(|f| f.allows == f.of && f.of > 0)
        .map(|f| f.change.clone());
    let diagnosis = KubeletLogDiagnosis {
        scenario: flags.label(),
        lines: report.lines,
        skipped: report.skipped,
        refusals: report.denied.len() as u64,
        distinct: entries,
        fixes,
        fix,
    };
    match args.format {
        ExplainFormat::Json => {
            print(&(serde_json::to_string_pretty(&diagnosis).unwrap_or_default() + "\n"))
        }
        ExplainFormat::Text => print(&render_diagnosis(&diagnosis)),
    }
    ExitCode::SUCCESS
}

fn render_diagnosis(d: &KubeletLogDiagnosis) -> String {
    let mut s = format!(
        "kubelet log: {} lines, {} refusals ({} distinct requests), {} lines without authorization errors\nscenario: {}\n",
        d.lines,
        d.refusals,
        d.distinct.len(),
        d.skipped,
        d.scenario
    );
    for (i, e) in d.distinct.iter().enumerate() {
        s.push_str(&format!(
            "\n[{}] {}× from line {}: {}\n",
            i + 1,
            e.count,
            e.first_line,
            one_line(&e.message)
        ));
        if let Some(first) = e.node_not_found_lines.first() {
            s.push_str(&format!(
                "    explains {} `node \"…\" not found` lines (first at line {first})\n",
                e.node_not_found_lines.len()
            ));
        }
        for line in render_text(&e.explanation).lines() {
            s.push_str("    ");
            s.push_str(line);
            s.push('\n');
        }
        for (label, x) in &e.compared {
            s.push_str(&format!("    under {label}: {}\n", x.verdict));
        }
    }
    s.push_str("\nFixes:\n");
    for f in &d.fixes {
        s.push_str(&format!(
            "  - {}: allows {} of {} refused requests{}\n",
            f.change,
            f.allows,
            f.of,
            f.discouraged
                .as_deref()
                .map(|w| format!("\n      {w}"))
                .unwrap_or_default()
        ));
    }
    match &d.fix {
        Some(f) => s.push_str(&format!("\nSmallest fix: {f}\n")),
        None if d.fixes.is_empty() => s.push_str("\nNo configuration change needed.\n"),
        None => s.push_str("\nNo single candidate change allows every refused request.\n"),
    }
    s
}
