//! The command line: argument structs (clap derive) and one `run_*` function per subcommand.
//! Lives in the library so that it can be tested; `src/main.rs` only calls [`main`].
//!
//! Exit codes: 0 success; 1 runtime error; 2 usage error; 3 nothing could be read; 4 `--strict`
//! stopped on a bad line; 5 a memory-mapped input was truncated while it was read; 10–14
//! `--fail-on` matched (see [`fail_on_code`]).

mod analyze;
mod explain;
mod graph;

use crate::analyze::ScenarioFlags;
use crate::apiserver::ApiserverConfig;
use crate::input::InputSpec;
use crate::record::Micros;
use crate::scan::ScanOptions;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code for runtime errors.
pub const EXIT_ERROR: u8 = 1;
/// Exit code for usage errors (clap uses the same).
pub const EXIT_USAGE: u8 = 2;
/// Exit code when no input gave a single readable line.
pub const EXIT_NOTHING_READ: u8 = 3;
/// Exit code when `--strict` stopped at a bad line.
pub const EXIT_STRICT: u8 = 4;
/// Exit code when a memory-mapped input was truncated while it was read
/// ([`report_truncated_maps`]).
pub const EXIT_TRUNCATED: u8 = 5;

/// The exit code of a `--fail-on` value that matched.
pub fn fail_on_code(value: &str) -> Option<u8> {
    Some(match value {
        "would_break" => 10,
        "forbidden" => 11,
        "relies_on_rbac" => 12,
        "indeterminate" => 13,
        "allowed_by_node" => 14,
        _ => return None,
    })
}

/// `--version`, with the gzip decoder the build found (see `build.rs`).
#[cfg(nodeauthz_isal)]
const LONG_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\ngzip inputs: ISA-L (igzip)");
#[cfg(not(nodeauthz_isal))]
const LONG_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\ngzip inputs: flate2 (zlib-rs)");

#[derive(Parser)]
#[command(
    name = "nodeauthz",
    version,
    long_version = LONG_VERSION,
    about = "Replays kubelet requests from Kubernetes audit logs through a model of the Node authorizer, NodeRestriction and RBAC"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read audit logs and give every kubelet request a verdict under the target configuration.
    Analyze(analyze::AnalyzeArgs),
    /// Explain one request (an audit event, or the refusals of a kubelet log) authorizer by
    /// authorizer, and the configuration change that fixes it.
    Explain(explain::ExplainArgs),
    /// Show the Node authorizer's graph (from a cluster dump and audit logs) at one instant.
    Graph(graph::GraphArgs),
}

/// How inputs are read; shared by every subcommand that reads audit logs.
#[derive(Args, Clone)]
pub(crate) struct ReadArgs {
    /// Stop at the first bad line or unreadable input (exit code 4).
    #[arg(long)]
    strict: bool,
    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0, value_name = "N")]
    threads: usize,
    /// Parse every line, not only those the byte pre-filter selects (for logs re-encoded with
    /// unusual JSON escapes).
    #[arg(long)]
    no_prefilter: bool,
    /// Read plain files instead of memory-mapping them: slower, but safe for a log that may be
    /// truncated while it is read (logrotate's `copytruncate`).
    #[arg(long)]
    no_mmap: bool,
    /// Longest line read, in bytes; longer lines are reported bad.
    #[arg(long, default_value_t = crate::scan::MAX_LINE_BYTES, value_name = "BYTES", hide = true)]
    max_line_bytes: usize,
    /// How many recent distinct requests are remembered (at least) to count each request once:
    /// two events of one request further apart may be counted twice. Memory: about 43 bytes per
    /// request of the window (75 MiB at the default).
    #[arg(
        long,
        default_value_t = crate::scan::recent::DEFAULT_WINDOW as u64,
        value_name = "REQUESTS",
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    dedup_window: u64,
}

impl ReadArgs {
    fn options(&self) -> ScanOptions {
        ScanOptions {
            threads: self.threads,
            strict: self.strict,
            prefilter: !self.no_prefilter,
            progress: true,
            max_line_bytes: self.max_line_bytes,
            dedup_window: usize::try_from(self.dedup_window).unwrap_or(usize::MAX),
            mmap: !self.no_mmap,
            ..ScanOptions::default()
        }
    }
}

/// The apiserver configuration to replay requests under, and the cluster objects.
#[derive(Args, Clone, Default)]
pub(crate) struct ScenarioArgs {
    /// Cluster dumps (`kubectl get … -o json|yaml`, a List, multi-document YAML, or a directory).
    #[arg(long, num_args = 1.., value_name = "FILE")]
    objects: Vec<PathBuf>,
    /// Leave out the built-in bootstrap RBAC policy.
    #[arg(long)]
    no_bootstrap_policy: bool,
    /// Authorizers in order, as kube-apiserver's flag (default: Node,RBAC, or the manifest's).
    #[arg(long, value_name = "MODES")]
    authorization_mode: Option<String>,
    /// Admission plugins to enable (NodeRestriction is enabled by default here unless
    /// --apiserver-manifest/--apiserver-flags say otherwise).
    #[arg(long, value_name = "PLUGINS")]
    enable_admission_plugins: Vec<String>,
    /// Admission plugins to disable.
    #[arg(long, value_name = "PLUGINS")]
    disable_admission_plugins: Vec<String>,
    /// Kubernetes release to model, e.g. 1.19 (default: the newest modelled, or the manifest's
    /// image tag).
    #[arg(long, value_name = "VERSION")]
    kube_version: Option<String>,
    /// Feature gates in kube-apiserver's syntax (`A=true,B=false`).
    #[arg(long, value_name = "GATES")]
    feature_gates: Option<String>,
    /// Remove a binding from the RBAC policy: clusterrolebinding/NAME or rolebinding/NS/NAME.
    #[arg(long, value_name = "KIND/NAME")]
    drop_binding: Vec<String>,
    /// Add the legacy binding of ClusterRole system:node to Group system:nodes.
    #[arg(long)]
    legacy_binding: bool,
    /// Take the configuration from a kube-apiserver static pod manifest.
    #[arg(long, value_name = "FILE", conflicts_with = "apiserver_flags")]
    apiserver_manifest: Option<PathBuf>,
    /// Take the configuration from kube-apiserver flags, e.g. "--authorization-mode=RBAC".
    #[arg(long, value_name = "FLAGS", allow_hyphen_values = true)]
    apiserver_flags: Option<String>,
}

impl ScenarioArgs {
    /// The scenario: defaults, overridden by the apiserver configuration, overridden by
    /// explicit flags. Returns the apiserver configuration too, for its notes.
    fn flags(&self) -> Result<(ScenarioFlags, Option<ApiserverConfig>), String> {
        let config = crate::apiserver::from_cli(
            self.apiserver_manifest.as_deref(),
            self.apiserver_flags.as_deref(),
        )
        .map_err(|e| e.to_string())?;
        let mut flags = ScenarioFlags::default();
        if let Some(c) = &config {
            if c.authorization_modes.is_empty() {
                return Err(format!(
                    "the apiserver configuration uses --authorization-config ({}), which is not modelled; give --authorization-mode",
                    c.authorization_config_file.as_deref().unwrap_or("?")
                ));
            }
            flags.authorization_mode = c.authorization_modes.join(",");
            flags.enable_admission_plugins = c.enable_admission_plugins.clone();
            flags.disable_admission_plugins = c.disable_admission_plugins.clone();
            flags.kube_version = c.kube_version.clone();
            flags.feature_gates = c.feature_gates.clone();
        }
        if let Some(m) = &self.authorization_mode {
            flags.authorization_mode = m.clone();
        }
        if !self.enable_admission_plugins.is_empty() {
            flags.enable_admission_plugins = self.enable_admission_plugins.clone();
        }
        if !self.disable_admission_plugins.is_empty() {
            flags.disable_admission_plugins = self.disable_admission_plugins.clone();
        }
        if self.kube_version.is_some() {
            flags.kube_version = self.kube_version.clone();
        }
        if self.feature_gates.is_some() {
            flags.feature_gates = self.feature_gates.clone();
        }
        flags.drop_bindings = self.drop_binding.clone();
        flags.legacy_binding = self.legacy_binding;
        Ok((flags, config))
    }
}

/// Parses the `--compare` columns against the base scenario.
fn compare_columns(
    specs: &[String],
    base: &ScenarioFlags,
) -> Result<Vec<(String, ScenarioFlags)>, String> {
    specs
        .iter()
        .map(|s| ScenarioFlags::parse_column(s, base).map(|f| (s.clone(), f)))
        .collect()
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Table,
    Json,
    Jsonl,
    Markdown,
}

/// Parses an RFC 3339 instant given on the command line.
fn parse_instant(s: &str) -> Result<Micros, String> {
    crate::input::time::parse_rfc3339_micros(s)
        .ok_or_else(|| format!("{s:?} is not an RFC 3339 time such as 2026-11-02T08:00:00Z"))
}

/// Writes to stdout; a closed pipe (`| head`) is not worth a panic or an error.
fn print(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Prints the notes of an apiserver configuration (flags not modelled, guesses) to stderr.
fn print_config_notes(config: &ApiserverConfig) {
    for note in &config.notes {
        eprintln!("nodeauthz: apiserver configuration: {note}");
    }
    if !config.unmodeled_flags.is_empty() {
        let names: Vec<String> = config
            .unmodeled_flags
            .iter()
            .map(|(n, _)| format!("--{n}"))
            .collect();
        eprintln!(
            "nodeauthz: apiserver flags not modelled ({}): {}",
            names.len(),
            names.join(" ")
        );
    }
}

fn usage(message: &str) -> ExitCode {
    eprintln!("nodeauthz: {message}");
    ExitCode::from(EXIT_USAGE)
}

/// Turns transparent huge pages off for this process, as the binary does first thing (and
/// the scan example, so that its numbers compare).
///
/// mimalloc asks for transparent huge pages for its arenas, and the kernel then clears 2 MiB
/// at the first touch of any byte of one, used or not. On the 1 GB benchmark log, peak
/// RssAnon was 138-153 MiB with them and is 107-114 MiB without; clearing fresh pages was a
/// tenth of the run's samples on the VM it is measured on, and 30 alternated rounds gave a CPU
/// time median of 2618 ms against 2712. Only this process's huge pages go: the system's
/// setting is left alone. A hint: if it fails, only memory use is higher.
pub fn without_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: `PR_SET_THP_DISABLE` takes integer arguments only (passed as the `unsigned long`
    // the kernel reads) and changes no memory the program can see; it sets a flag the kernel
    // reads at later page faults.
    unsafe {
        let no: libc::c_ulong = 0;
        libc::prctl(libc::PR_SET_THP_DISABLE, 1 as libc::c_ulong, no, no, no);
    }
}

/// Parses the process arguments and runs the subcommand.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    report_truncated_maps();
    raise_open_files_limit();
    match &cli.command {
        Command::Analyze(args) => analyze::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Graph(args) => graph::run(args),
    }
}

/// Makes a memory-mapped input that another process truncates while it is read (logrotate's
/// `copytruncate` on a live log) end the process with a message and [`EXIT_TRUNCATED`], instead
/// of the bare "Bus error" of the default action. Touching a page of a map past its file's new
/// end raises SIGBUS, and there is no way back into the read from there; an I/O error while a
/// page is read in raises it too, and the message says both. Nothing has been written by then:
/// every output is written after the logs are read. `--no-mmap` avoids it.
/// On Linux only; elsewhere the default action stays (macOS also raises SIGBUS on stack
/// overflow, which the standard library reports itself).
pub fn report_truncated_maps() {
    #[cfg(target_os = "linux")]
    {
        extern "C" fn on_sigbus(_signal: libc::c_int) {
            const MESSAGE: &[u8] = b"nodeauthz: an input file was truncated, or could not be \
                read, while it was read through a memory map (logrotate's copytruncate? an I/O \
                error?); nothing was written. Run again with --no-mmap to read files instead of \
                mapping them.\n";
            // SAFETY: write(2) and _exit(2) are async-signal-safe, and MESSAGE is static. The
            // write is best effort: there is nothing to do if it fails.
            unsafe {
                libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
                libc::_exit(libc::c_int::from(EXIT_TRUNCATED));
            }
        }
        // SAFETY: a zeroed `sigaction` is a valid value (no flags, an empty mask once
        // `sigemptyset` has run), and the handler calls only async-signal-safe functions. The
        // standard library's own SIGBUS handler only reports stack overflows, which Linux
        // signals with SIGSEGV. If installing fails, the default action stays.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigbus as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
        }
    }
}

/// Raises the soft limit of open files to the hard one, as Go programs do: a streamed input
/// (compressed, or plain with `--no-mmap` or when it cannot be mapped) stays open from when
/// the inputs are ordered until it is read, so that a log rotated meanwhile is still the one
/// read, and a directory of rotated logs can hold more than the usual soft limit of 1024.
/// Best effort: past the limit, inputs are opened again by name when read (see the scan's
/// `held_files_budget`).
fn raise_open_files_limit() {
    #[cfg(target_os = "linux")]
    if let Some(mut limit) = crate::scan::open_files_limit() {
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            // SAFETY: setrlimit only reads the `rlimit` passed to it.
            unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
        }
    }
}

/// The inputs as given.
fn input_specs(inputs: &[String]) -> Vec<InputSpec> {
    inputs.iter().map(|s| InputSpec::parse(s)).collect()
}
