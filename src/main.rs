//! The `nodeauthz` command line: parses arguments, calls the library, maps outcomes to exit
//! codes. One variant of [`Command`] and one `run_*` function per subcommand.
//!
//! Exit codes: 0 success; 1 runtime error; 2 usage error (clap); 3 nothing could be read;
//! 4 `--strict` stopped on a bad line.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use nodeauthz::input::InputSpec;
use nodeauthz::inventory::InventoryBuilder;
use nodeauthz::scan::{scan, ScanError, ScanOptions};

/// Exit code when no input gave a single readable line.
const EXIT_NOTHING_READ: u8 = 3;
/// Exit code when `--strict` stopped at a bad line.
const EXIT_STRICT: u8 = 4;

#[derive(Parser)]
#[command(
    name = "nodeauthz",
    version,
    about = "Replays kubelet requests from Kubernetes audit logs through a model of the Node authorizer, NodeRestriction and RBAC"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read audit logs and report on the kubelet requests in them.
    Analyze(AnalyzeArgs),
}

/// Output format of `analyze`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
}

/// How inputs are read; shared by every subcommand that reads audit logs.
#[derive(Args)]
struct ReadArgs {
    /// Audit logs: files, directories (walked recursively), `.gz` files, or `-` for stdin.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<String>,
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
    /// Longest line read, in bytes; longer lines are reported bad.
    #[arg(long, default_value_t = nodeauthz::scan::MAX_LINE_BYTES, value_name = "BYTES", hide = true)]
    max_line_bytes: usize,
}

impl ReadArgs {
    fn specs(&self) -> Vec<InputSpec> {
        self.inputs.iter().map(|s| InputSpec::parse(s)).collect()
    }

    fn options(&self) -> ScanOptions {
        ScanOptions {
            threads: self.threads,
            strict: self.strict,
            prefilter: !self.no_prefilter,
            progress: true,
            max_line_bytes: self.max_line_bytes,
            ..ScanOptions::default()
        }
    }
}

#[derive(Args)]
struct AnalyzeArgs {
    #[command(flatten)]
    read: ReadArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

fn run_analyze(args: &AnalyzeArgs) -> ExitCode {
    let mut inventory = InventoryBuilder::default();
    let mut opts = args.read.options();
    opts.want_object_events = false;
    let summary = match scan(&args.read.specs(), &opts, &mut |batch| {
        batch.iter().for_each(|r| inventory.add(r))
    }) {
        Ok(s) => s,
        Err(e @ ScanError::Strict { .. }) => {
            eprintln!("nodeauthz: {e}");
            return ExitCode::from(EXIT_STRICT);
        }
        Err(e) => {
            eprintln!("nodeauthz: {e}");
            return ExitCode::FAILURE;
        }
    };
    let inv = inventory.finish(&summary);
    let text = match args.format {
        Format::Table => inv.to_table(),
        Format::Json => inv.to_json() + "\n",
    };
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    if summary.nothing_read() {
        eprintln!("nodeauthz: nothing could be read from the inputs");
        return ExitCode::from(EXIT_NOTHING_READ);
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Analyze(args) => run_analyze(args),
    }
}
