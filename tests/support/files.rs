//! The files under a directory, for the tests that read every fixture or every real log.

use std::path::{Path, PathBuf};

/// Every file under `dir`, recursively, in path order; none under a directory that cannot be
/// read (the shared real logs next to the checkout may be missing), so a caller that needs
/// files says how many it expects.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
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
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

/// [`files_under`] `dir`, as paths relative to it with `/` between their parts, sorted as
/// text.
#[allow(
    dead_code,
    reason = "not every test that walks files wants them relative"
)]
pub fn relative_files_under(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = files_under(dir)
        .iter()
        .filter_map(|p| p.strip_prefix(dir).ok())
        .map(|rel| rel.to_string_lossy().replace('\\', "/"))
        .collect();
    out.sort();
    out
}
