//! The files under a directory, for the tests that read every fixture or every real log.

use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Every file under `dir`, recursively, in path order; none under a directory that cannot be
/// read (the shared real logs next to the checkout may be missing), so a caller that needs
/// files says how many it expects.
#[allow(dead_code, reason = "each test uses some of these")]
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

/// Every file of the fixtures (`root/fixtures`) and of the real logs next to the checkout
/// (`root/../shared/real-logs`), in that order.
#[allow(dead_code, reason = "each test uses some of these")]
pub fn fixtures_and_real_logs(root: &Path) -> Vec<PathBuf> {
    let mut out = files_under(&root.join("fixtures"));
    out.extend(files_under(&root.join("../shared/real-logs")));
    out
}

/// The files under `dir`, as paths relative to it with `/` between their parts, sorted as
/// text.
#[allow(dead_code, reason = "each test uses some of these")]
pub fn relative_files_under(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    walk(dir, &mut files);
    let mut out: Vec<String> = files
        .iter()
        .filter_map(|p| p.strip_prefix(dir).ok())
        .map(|rel| rel.to_string_lossy().replace('\\', "/"))
        .collect();
    out.sort();
    out
}
