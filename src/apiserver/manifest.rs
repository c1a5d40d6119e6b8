//! The kube-apiserver static pod manifest (`/etc/kubernetes/manifests/kube-apiserver.yaml`),
//! read into the few fields the tool needs.

use std::path::Path;

use serde::Deserialize;

use super::{kube_version_from_image, split_words, ApiserverConfig, ApiserverError};

/// The container whose command line is read.
const CONTAINER: &str = "kube-apiserver";

#[derive(Deserialize)]
struct Pod {
    kind: Option<String>,
    spec: Option<PodSpec>,
}

#[derive(Deserialize)]
struct PodSpec {
    #[serde(default)]
    containers: Vec<Container>,
}

#[derive(Deserialize)]
struct Container {
    #[serde(default)]
    name: String,
    image: Option<String>,
    #[serde(default)]
    command: Vec<String>,
    #[serde(default)]
    args: Vec<String>,
}

/// Reads a manifest file; errors name the file.
pub fn parse_manifest_file(path: &Path) -> Result<ApiserverConfig, ApiserverError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ApiserverError {
        source_name: name.clone(),
        problem: format!("cannot read: {e}"),
    })?;
    parse_manifest(&text, &name)
}

/// Reads manifest text; `file` names it in errors and notes.
pub fn parse_manifest(yaml: &str, file: &str) -> Result<ApiserverConfig, ApiserverError> {
    let fail = |problem: String| ApiserverError {
        source_name: file.to_string(),
        problem,
    };
    let first = crate::cluster::yaml::documents(yaml)
        .into_iter()
        .next()
        .unwrap_or(Ok(serde_json::Value::Null));
    let pod: Pod = first
        .and_then(|v| serde_json::from_value(v).map_err(|e| e.to_string()))
        .map_err(|e| fail(format!("not a valid Pod manifest: {e}")))?;
    if let Some(kind) = pod.kind.as_deref().filter(|k| *k != "Pod") {
        return Err(fail(format!("kind is {kind:?}, expected \"Pod\"")));
    }
    let spec = pod
        .spec
        .ok_or_else(|| fail("spec is missing".to_string()))?;
    let names: Vec<&str> = spec.containers.iter().map(|c| c.name.as_str()).collect();
    let container = spec
        .containers
        .iter()
        .find(|c| c.name == CONTAINER)
        .ok_or_else(|| {
            fail(format!(
                "no container named {CONTAINER:?} in spec.containers (found: {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ))
        })?;

    let mut notes = Vec::new();
    let mut argv: Vec<String> = match container.command.as_slice() {
        // `sh -c "exec kube-apiserver --flag …"`: the flags are inside the script.
        [shell, dash_c, script, ..] if shell.ends_with("sh") && dash_c == "-c" => {
            notes.push(format!(
                "{file}: flags read from the shell script in command"
            ));
            let words = split_words(script).map_err(|e| {
                fail(format!(
                    "shell script in command: {} at character {}",
                    e.problem, e.column
                ))
            })?;
            apiserver_words(words)
        }
        command => command.to_vec(),
    };
    if argv.is_empty() {
        // No command: the image's entrypoint runs with `args`.
        argv.push(CONTAINER.to_string());
    }
    argv.extend(container.args.iter().cloned());

    let mut config = ApiserverConfig::from_args(&argv);
    config.notes.splice(0..0, notes);
    config.image = container.image.clone();
    match container.image.as_deref() {
        Some(image) => match kube_version_from_image(image) {
            Ok(version) => config.kube_version = Some(version),
            Err(note) => config.notes.push(format!("{file}: {note}")),
        },
        None => config.notes.push(format!(
            "{file}: container has no image; Kubernetes version unknown"
        )),
    }
    Ok(config)
}

/// From a script's words, the kube-apiserver invocation: the words after the program up to the
/// first shell operator.
fn apiserver_words(words: Vec<String>) -> Vec<String> {
    let start = words
        .iter()
        .position(|w| w.rsplit('/').next() == Some(CONTAINER))
        .unwrap_or(0);
    words
        .into_iter()
        .skip(start)
        .take_while(|w| {
            !matches!(w.as_str(), "|" | "||" | "&&" | ";" | "&")
                && !w.starts_with('>')
                && !w.starts_with("2>")
                && !w.starts_with("1>")
                && !w.starts_with('<')
        })
        .collect()
}
