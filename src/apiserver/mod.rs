//! Apiserver configuration in: the kube-apiserver static pod manifest (`--apiserver-manifest`)
//! or a flag string (`--apiserver-flags`), reduced to what the scenario needs.
//!
//! Modelled: `--authorization-mode`, `--enable-admission-plugins`, `--disable-admission-plugins`,
//! the pre-1.10 `--admission-control`, `--feature-gates`, `--authorization-config` (recorded
//! only: structured authorization configuration is not modelled), and the Kubernetes version
//! from the container image tag. Every other flag is listed in
//! [`ApiserverConfig::unmodeled_flags`], never dropped.

mod image;
mod manifest;
mod words;

use std::path::Path;

pub use image::kube_version_from_image;
pub use manifest::{parse_manifest, parse_manifest_file};
pub use words::{split_words, WordsError};

/// What kube-apiserver uses when `--authorization-mode` is absent: `AlwaysAllow`, in every
/// release (kubeadm and most installers always pass `Node,RBAC`).
pub const DEFAULT_AUTHORIZATION_MODE: &str = "AlwaysAllow";

/// The admission plugin whose enablement the model needs.
pub const NODE_RESTRICTION: &str = "NodeRestriction";

/// The apiserver configuration a scenario is built from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiserverConfig {
    /// `--authorization-mode`, in order; [`DEFAULT_AUTHORIZATION_MODE`] when absent (see
    /// `authorization_modes_defaulted`), empty when `--authorization-config` replaces it.
    pub authorization_modes: Vec<String>,
    /// True when the flag was absent and the default was filled in.
    pub authorization_modes_defaulted: bool,
    /// `--enable-admission-plugins` (or the legacy `--admission-control`), in order.
    pub enable_admission_plugins: Vec<String>,
    pub disable_admission_plugins: Vec<String>,
    /// `1.19.16` from an image such as `registry.k8s.io/kube-apiserver:v1.19.16`.
    pub kube_version: Option<String>,
    /// The kube-apiserver container image, when read from a manifest.
    pub image: Option<String>,
    /// `--feature-gates` as given (several occurrences joined with `,`).
    pub feature_gates: Option<String>,
    /// `--authorization-config` (structured authorization, not modelled).
    pub authorization_config_file: Option<String>,
    /// Every other flag as (name without dashes, value; empty for a bare flag), in order.
    pub unmodeled_flags: Vec<(String, String)>,
    /// What the reader could not model or had to guess, for the report.
    pub notes: Vec<String>,
}

/// A configuration that could not be read; names the file (or `--apiserver-flags`) and the
/// problem.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {problem}")]
pub struct ApiserverError {
    pub source_name: String,
    pub problem: String,
}

/// Reads `--apiserver-flags "…"`: a shell-like string of kube-apiserver flags, optionally
/// starting with the program name.
pub fn parse_flags(flags: &str) -> Result<ApiserverConfig, ApiserverError> {
    let words = split_words(flags).map_err(|e| ApiserverError {
        source_name: "--apiserver-flags".to_string(),
        problem: format!("{} at character {}", e.problem, e.column),
    })?;
    Ok(ApiserverConfig::from_args(&words))
}

/// The CLI's entry point: `--apiserver-manifest FILE` or `--apiserver-flags "…"` (at most
/// one of them), `None` when neither was given.
pub fn from_cli(
    manifest: Option<&Path>,
    flags: Option<&str>,
) -> Result<Option<ApiserverConfig>, ApiserverError> {
    match (manifest, flags) {
        (Some(_), Some(_)) => Err(ApiserverError {
            source_name: "--apiserver-manifest".to_string(),
            problem: "cannot be combined with --apiserver-flags".to_string(),
        }),
        (Some(path), None) => parse_manifest_file(path).map(Some),
        (None, Some(flags)) => parse_flags(flags).map(Some),
        (None, None) => Ok(None),
    }
}

/// How a modelled flag's value is kept.
enum Modelled {
    AuthorizationModes,
    Enable,
    Disable,
    AdmissionControl,
    FeatureGates,
    AuthorizationConfig,
}

fn modelled(name: &str) -> Option<Modelled> {
    Some(match name {
        "authorization-mode" => Modelled::AuthorizationModes,
        "enable-admission-plugins" => Modelled::Enable,
        "disable-admission-plugins" => Modelled::Disable,
        "admission-control" => Modelled::AdmissionControl,
        "feature-gates" => Modelled::FeatureGates,
        "authorization-config" => Modelled::AuthorizationConfig,
        _ => return None,
    })
}

/// pflag's string-slice value: comma-separated, blanks around items ignored.
fn push_list(list: &mut Vec<String>, value: &str) {
    list.extend(
        value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
    );
}

impl ApiserverConfig {
    /// Interprets kube-apiserver's argv (command then args). A leading word that is not a flag
    /// is the program name (with `hyperkube`, the next one too). `--name=value` and `--name value` are both accepted; a modelled
    /// flag always takes the next word as its value (pflag does the same for non-boolean
    /// flags), an unmodelled one only when the next word is not itself a flag.
    pub fn from_args<S: AsRef<str>>(args: &[S]) -> Self {
        let mut config = ApiserverConfig::default();
        let mut modes: Option<Vec<String>> = None;
        let mut words = args.iter().map(AsRef::as_ref).peekable();
        if let Some(program) = words.next_if(|w| !w.starts_with('-')) {
            // `hyperkube kube-apiserver …` (images up to about 1.17) names a subcommand.
            if program.ends_with("hyperkube") {
                words.next_if(|w| !w.starts_with('-'));
            }
        }
        let mut only_positional = false;
        while let Some(word) = words.next() {
            let flag = word.strip_prefix("--").or_else(|| word.strip_prefix('-'));
            let Some(flag) = flag.filter(|f| !only_positional && !f.is_empty()) else {
                if word == "--" && !only_positional {
                    only_positional = true;
                } else {
                    config
                        .notes
                        .push(format!("ignored positional argument {word:?}"));
                }
                continue;
            };
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (flag, None),
            };
            let kind = modelled(name);
            let value = match inline {
                Some(v) => v.to_string(),
                None if kind.is_some() => words.next().unwrap_or("").to_string(),
                None => match words.peek() {
                    Some(next) if !next.starts_with('-') => words.next().unwrap_or("").to_string(),
                    _ => String::new(),
                },
            };
            match kind {
                // Slice flags append on repetition, as pflag's StringSlice does.
                Some(Modelled::AuthorizationModes) => {
                    push_list(modes.get_or_insert_with(Vec::new), &value)
                }
                Some(Modelled::Enable) => push_list(&mut config.enable_admission_plugins, &value),
                Some(Modelled::Disable) => push_list(&mut config.disable_admission_plugins, &value),
                Some(Modelled::AdmissionControl) => {
                    config.notes.push(
                        "--admission-control (deprecated since 1.10) is read as --enable-admission-plugins"
                            .to_string(),
                    );
                    push_list(&mut config.enable_admission_plugins, &value);
                }
                Some(Modelled::FeatureGates) => {
                    config.feature_gates = Some(match config.feature_gates.take() {
                        Some(previous) if !previous.is_empty() => format!("{previous},{value}"),
                        _ => value,
                    });
                }
                Some(Modelled::AuthorizationConfig) => {
                    config.authorization_config_file = Some(value);
                }
                None => {
                    if let Some(note) = unsupported_flag_note(name) {
                        config.notes.push(note.to_string());
                    }
                    config.unmodeled_flags.push((name.to_string(), value));
                }
            }
        }
        config.finish_modes(modes);
        let mut seen = std::collections::HashSet::new();
        config.notes.retain(|n| seen.insert(n.clone()));
        config
    }

    fn finish_modes(&mut self, modes: Option<Vec<String>>) {
        match (modes, &self.authorization_config_file) {
            (Some(modes), config_file) => {
                if config_file.is_some() {
                    self.notes.push(
                        "--authorization-mode and --authorization-config are both set; \
                         kube-apiserver refuses to start with both"
                            .to_string(),
                    );
                }
                if modes.is_empty() {
                    self.notes.push(
                        "--authorization-mode is empty; kube-apiserver refuses to start without a mode"
                            .to_string(),
                    );
                }
                self.authorization_modes = modes;
            }
            (None, Some(file)) => self.notes.push(format!(
                "authorization is configured by --authorization-config {file:?} (structured \
                 authorization configuration), which is not modelled; authorization modes unknown"
            )),
            (None, None) => {
                self.authorization_modes = vec![DEFAULT_AUTHORIZATION_MODE.to_string()];
                self.authorization_modes_defaulted = true;
                self.notes.push(format!(
                    "--authorization-mode is absent; kube-apiserver defaults to {DEFAULT_AUTHORIZATION_MODE}"
                ));
            }
        }
        for mode in &self.authorization_modes {
            if matches!(mode.as_str(), "Webhook" | "ABAC") {
                self.notes.push(format!(
                    "authorization mode {mode} is not supported by the model; it is treated as having no opinion"
                ));
            }
        }
    }

    /// True when NodeRestriction is enabled and not disabled. Without
    /// `--enable-admission-plugins` it is off: it is not in kube-apiserver's default set.
    pub fn node_restriction_enabled(&self) -> bool {
        self.enable_admission_plugins
            .iter()
            .any(|p| p == NODE_RESTRICTION)
            && !self
                .disable_admission_plugins
                .iter()
                .any(|p| p == NODE_RESTRICTION)
    }

    /// The value `--feature-gates` sets for `gate` (the last occurrence wins), if any. An
    /// unparsable value is `None`.
    pub fn feature_gate(&self, gate: &str) -> Option<bool> {
        self.feature_gates
            .as_deref()?
            .split(',')
            .filter_map(|item| item.split_once('='))
            .filter(|(name, _)| name.trim() == gate)
            .filter_map(|(_, v)| v.trim().parse::<bool>().ok())
            .next_back()
    }
}

/// Flags of authorizers the model does not implement.
fn unsupported_flag_note(name: &str) -> Option<&'static str> {
    match name {
        "authorization-webhook-config-file"
        | "authorization-webhook-version"
        | "authorization-webhook-cache-authorized-ttl"
        | "authorization-webhook-cache-unauthorized-ttl" => {
            Some("the Webhook authorization mode is not supported by the model")
        }
        "authorization-policy-file" => {
            Some("the ABAC authorization mode is not supported by the model")
        }
        _ => None,
    }
}
