//! Outputs: Parquet tables (`requests.parquet`, `findings.parquet`), `summary.json` and the
//! human reports (terminal table, markdown).
//!
//! Every output file is written under a hidden temporary name in its final directory and
//! renamed when complete, so a crash never leaves a half-written file under the final name
//! (and readers of a hive directory skip the hidden temporary names).

pub mod html;
pub mod parquet;
pub mod report;
pub mod summary;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Errors of the export stage, each naming the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Creating, writing, syncing or renaming a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The Parquet writer failed.
    #[error("{path}: writing Parquet: {source}")]
    Parquet {
        /// The file concerned.
        path: PathBuf,
        /// The writer's error.
        source: ::parquet::errors::ParquetError,
    },
    /// Building an Arrow record batch failed (a bug: the schema and the arrays disagree).
    #[error("building Arrow batch: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// Serialising JSON failed.
    #[error("{path}: serialising JSON: {source}")]
    Json {
        /// The file concerned.
        path: PathBuf,
        /// The serialiser's error.
        source: serde_json::Error,
    },
}

impl ExportError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        ExportError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// Distinguishes temporary names of files written concurrently by one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The hidden temporary name next to `path`: `.<name>.<pid>.<n>.tmp`.
pub fn temp_path_for(path: &Path) -> PathBuf {
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// A file being written under a temporary name; [`TempFile::commit`] renames it to its final
/// name, dropping it uncommitted removes it.
#[derive(Debug)]
pub struct TempFile {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl TempFile {
    /// Creates the temporary file for `target` (creating parent directories) and opens it.
    pub fn create(target: &Path) -> Result<(TempFile, File), ExportError> {
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| ExportError::io(dir, e))?;
        }
        let temp = temp_path_for(target);
        let file = File::create(&temp).map_err(|e| ExportError::io(&temp, e))?;
        Ok((
            TempFile {
                temp,
                target: target.to_owned(),
                committed: false,
            },
            file,
        ))
    }

    /// The final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The temporary path.
    pub fn temp(&self) -> &Path {
        &self.temp
    }

    /// Renames the (already flushed and closed) temporary file to its final name.
    pub fn commit(mut self) -> Result<PathBuf, ExportError> {
        std::fs::rename(&self.temp, &self.target).map_err(|e| ExportError::io(&self.target, e))?;
        self.committed = true;
        Ok(self.target.clone())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.committed {
            // Best effort: the temporary name is hidden, so a leftover never looks like output.
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Writes `summary.json`, `report.md` and `findings.parquet` into `dir`, each atomically;
/// returns the paths written. `requests.parquet` is streamed separately with
/// [`parquet::RequestWriter`].
pub fn write_reports(
    dir: &Path,
    summary: &summary::Summary,
    findings: &crate::findings::Findings,
) -> Result<Vec<PathBuf>, ExportError> {
    let summary_path = dir.join("summary.json");
    let json = summary.to_json().map_err(|source| ExportError::Json {
        path: summary_path.clone(),
        source,
    })?;
    write_atomic(&summary_path, json.as_bytes())?;
    let report_path = dir.join("report.md");
    write_atomic(
        &report_path,
        report::render(summary, report::Style::Markdown).as_bytes(),
    )?;
    let findings_path = parquet::write_findings(&dir.join("findings.parquet"), findings)?;
    Ok(vec![summary_path, report_path, findings_path])
}

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let (temp, mut file) = TempFile::create(path)?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| ExportError::io(temp.temp(), e))?;
    drop(file);
    temp.commit()?;
    Ok(())
}
