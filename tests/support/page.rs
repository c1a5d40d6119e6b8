//! Rendering a report page in a real headless Chromium and reading numbers back from it:
//! shared by `tests/html_report.rs` and `tests/incident_html.rs`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn chromium() -> PathBuf {
    let path = std::env::var_os("NODEAUTHZ_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "this test needs a real headless browser and {} does not exist: install it with \
         `apt-get install -y chromium` (CI does), or set NODEAUTHZ_CHROMIUM",
        path.display()
    );
    path
}

/// Runs Chromium headless with a fresh profile and no network features; returns stdout.
pub fn run_chromium(dir: &Path, extra: &[String], page: &Path) -> Vec<u8> {
    let profile = tempfile::tempdir_in(dir).expect("profile dir");
    let stdout_path = dir.join(format!("chromium-{}.out", extra.len()));
    let stderr_path = dir.join(format!("chromium-{}.err", extra.len()));
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            // Containers often give /dev/shm 64 MiB, too little for the renderer.
            "--disable-dev-shm-usage",
            "--force-color-profile=srgb",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .env("HOME", dir)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    assert!(status.success(), "chromium failed ({status}):\n{stderr}");
    std::fs::read(&stdout_path).expect("read chromium output")
}

pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// Every `data-metric` element of a serialised DOM: its name and value (the `data-value`
/// attribute, or else the element's text). Panics on a duplicate name or a non-number.
pub fn metrics(dom: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut rest = dom;
    while let Some(p) = rest.find("data-metric=\"") {
        let tag_start = rest[..p].rfind('<').expect("attribute inside a tag");
        let tag_end = p + rest[p..].find('>').expect("tag end");
        let tag = &rest[tag_start..tag_end];
        let attr = |name: &str| {
            let key = format!(" {name}=\"");
            tag.find(&key).map(|i| {
                let v = &tag[i + key.len()..];
                unescape(&v[..v.find('"').expect("closing quote")])
            })
        };
        let name = attr("data-metric").expect("data-metric");
        let value = match attr("data-value") {
            Some(v) => v,
            None => {
                let text = &rest[tag_end + 1..];
                unescape(&text[..text.find('<').expect("element end")])
            }
        };
        let n: u64 = value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("metric {name} is not a number: {value:?}"));
        assert!(out.insert(name.clone(), n).is_none(), "metric {name} twice");
        rest = &rest[tag_end..];
    }
    out
}

/// Text nodes that are a bare number and not the text of a `data-metric` element.
pub fn numbers_outside_metrics(dom: &str) -> Vec<String> {
    let mut bad = Vec::new();
    let mut rest = dom;
    while let Some(gt) = rest.find('>') {
        let tag_start = rest[..gt].rfind('<').unwrap_or(0);
        let tag = &rest[tag_start..gt];
        let after = &rest[gt + 1..];
        let text = &after[..after.find('<').unwrap_or(after.len())];
        let trimmed = text.trim();
        if !trimmed.is_empty()
            && trimmed.chars().any(|c| c.is_ascii_digit())
            && trimmed.chars().all(|c| c.is_ascii_digit() || c == ',')
            && !tag.contains("data-metric=")
        {
            bad.push(format!("{tag}>{trimmed}"));
        }
        rest = after;
    }
    bad
}

/// Resource references that would leave the file: a scheme or a protocol-relative URL after
/// `src=`, `href=`, `url(`, `@import`, `srcset=`, `action=`, `xlink:href=`.
pub fn external_references(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut found = Vec::new();
    for opener in [
        "src=",
        "href=",
        "url(",
        "@import",
        "srcset=",
        "action=",
        "xlink:href=",
    ] {
        for (i, _) in lower.match_indices(opener) {
            let v = lower[i + opener.len()..].trim_start_matches(['"', '\'', ' ']);
            if !v.starts_with('#') && !v.starts_with("data:") {
                found.push(lower[i..(i + 60).min(lower.len())].to_owned());
            }
        }
    }
    found
}

/// Asserts that the page shows exactly the expected metrics, with the expected values:
/// nothing missing, nothing extra, and no bare number outside a metric element.
pub fn assert_metrics_exactly(
    dom: &str,
    shown: &BTreeMap<String, u64>,
    expected: &BTreeMap<String, u64>,
) {
    let missing: Vec<&String> = expected
        .keys()
        .filter(|k| !shown.contains_key(*k))
        .collect();
    let extra: Vec<&String> = shown
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "metrics missing from the page: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "metrics on the page that were not expected: {extra:?}"
    );
    for (k, v) in expected {
        assert_eq!(shown.get(k), Some(v), "metric {k}");
    }
    assert_eq!(numbers_outside_metrics(dom), Vec::<String>::new());
}
