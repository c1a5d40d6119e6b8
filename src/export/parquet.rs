//! The Parquet tables: `requests.parquet` (one row per kubelet request) and `findings.parquet`
//! (one row per static finding). Both schemas are defined here and only here; `docs/schema.md`
//! documents them column by column and must change with them (bump [`SCHEMA_VERSION`]).
//!
//! Low-cardinality strings are `Dictionary(Int32, Utf8)`, high-cardinality ones plain `Utf8`,
//! lists `List<Utf8>`, timestamps `Timestamp(Microsecond, "UTC")`; compression zstd(1).

use super::{ExportError, TempFile};
use crate::findings::Findings;
use crate::input::time::format_date;
use crate::verdict::RequestVerdict;
use arrow_array::builder::{
    BooleanBuilder, Int32Builder, Int64Builder, ListBuilder, StringBuilder,
    StringDictionaryBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Version of both table schemas; bumped on any column change.
pub const SCHEMA_VERSION: &str = "1";
/// File key-value metadata key holding [`SCHEMA_VERSION`].
pub const SCHEMA_VERSION_KEY: &str = "nodeauthz.schema_version";
/// File key-value metadata key holding the table name (`requests` or `findings`).
pub const TABLE_KEY: &str = "nodeauthz.table";
/// The hive partition value written for a null or empty key (what Hive, Spark, pyarrow and
/// DuckDB read back as null).
pub const HIVE_NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// The storage type of one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    /// `Dictionary(Int32, Utf8)`.
    Dict,
    /// `Utf8`.
    Str,
    /// `List<Utf8>`.
    List,
    /// `Timestamp(Microsecond, "UTC")`.
    Time,
    /// `Int32`.
    I32,
    /// `Int64`.
    I64,
    /// `Boolean`.
    Bool,
}

/// (name, type, nullable) of every `requests` column, in file order.
const REQUEST_COLUMNS: &[(&str, Col, bool)] = &[
    ("audit_id", Col::Str, false),
    ("timestamp", Col::Time, true),
    ("node", Col::Dict, false),
    ("username", Col::Dict, false),
    ("groups", Col::List, false),
    ("user_agent", Col::Dict, false),
    ("source_ips", Col::List, false),
    ("verb", Col::Dict, false),
    ("api_group", Col::Dict, false),
    ("resource", Col::Dict, false),
    ("subresource", Col::Dict, false),
    ("namespace", Col::Dict, false),
    ("name", Col::Str, false),
    ("request_uri", Col::Str, false),
    ("recorded_decision", Col::Dict, false),
    ("recorded_annotation", Col::Dict, true),
    ("recorded_reason", Col::Str, true),
    ("recorded_code", Col::I32, true),
    ("recorded_by_admission", Col::Bool, false),
    ("node_authorizer_decision", Col::Dict, false),
    ("node_authorizer_reason", Col::Dict, false),
    ("node_restriction_decision", Col::Dict, false),
    ("node_restriction_reason", Col::Str, false),
    ("rbac_decision", Col::Dict, false),
    ("rbac_reason", Col::Dict, false),
    ("rbac_binding", Col::Dict, true),
    ("rbac_role", Col::Dict, true),
    ("verdict", Col::Dict, false),
    ("verdict_reason", Col::Str, false),
    ("change", Col::Dict, false),
    ("evidence", Col::Dict, false),
    ("evidence_path", Col::List, false),
    ("evidence_detail", Col::Str, true),
    ("source_file", Col::Dict, false),
    ("source_line", Col::I64, false),
];

/// (name, type, nullable) of every `findings` column, in file order.
const FINDING_COLUMNS: &[(&str, Col, bool)] = &[
    ("finding_id", Col::Str, false),
    ("severity", Col::Dict, false),
    ("kind", Col::Dict, false),
    ("binding", Col::Str, true),
    ("role", Col::Str, true),
    ("subject", Col::Str, false),
    ("rules", Col::List, false),
    ("observed", Col::List, false),
    ("detail", Col::Dict, false),
    ("requests_using", Col::I64, false),
];

fn data_type(c: Col) -> DataType {
    match c {
        Col::Dict => DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
        Col::Str => DataType::Utf8,
        // Matches what `ListBuilder<StringBuilder>` produces.
        Col::List => DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        Col::Time => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        Col::I32 => DataType::Int32,
        Col::I64 => DataType::Int64,
        Col::Bool => DataType::Boolean,
    }
}

fn schema_of(columns: &[(&str, Col, bool)], table: &str) -> SchemaRef {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, c, nullable)| Field::new(*name, data_type(*c), *nullable))
        .collect();
    let metadata: HashMap<String, String> = [
        (SCHEMA_VERSION_KEY.to_owned(), SCHEMA_VERSION.to_owned()),
        (TABLE_KEY.to_owned(), table.to_owned()),
    ]
    .into_iter()
    .collect();
    Arc::new(Schema::new_with_metadata(fields, metadata))
}

/// The Arrow schema of `requests.parquet`.
pub fn request_schema() -> SchemaRef {
    schema_of(REQUEST_COLUMNS, "requests")
}

/// The Arrow schema of `findings.parquet`.
pub fn findings_schema() -> SchemaRef {
    schema_of(FINDING_COLUMNS, "findings")
}

/// Writer settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterOptions {
    /// Rows per row group; also the unit of buffering of each open file, and, in partitioned
    /// output, the most rows held before they are written (plus those of the last write).
    pub row_group_rows: usize,
    /// Partitioned output: most files open at once. Rows whose writing would finish an open
    /// file are held (one set of columns for all partitions, a row index per row) until
    /// `row_group_rows` of them have come, then written a partition at a time, the open
    /// ones first; a write that needs a file not open finishes the least recently used one,
    /// and its partition continues in a new `part-<n>` file. So a file is finished early at
    /// most once per `row_group_rows` rows written. Memory is bounded by about
    /// `max_open_writers` in-progress row groups and one row group held, whatever the number
    /// of partitions.
    pub max_open_writers: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            row_group_rows: 128 * 1024,
            max_open_writers: 32,
        }
    }
}

fn properties(opts: &WriterOptions, table: &str) -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default())) // level 1
        // Row-group statistics keep predicate pushdown on `timestamp`; page statistics on ~20
        // dictionary columns made the writer 2.7x slower (210k vs 574k rows/s, release).
        .set_statistics_enabled(parquet::file::properties::EnabledStatistics::Chunk)
        .set_max_row_group_row_count(Some(opts.row_group_rows.max(1)))
        .set_key_value_metadata(Some(vec![
            KeyValue::new(SCHEMA_VERSION_KEY.to_owned(), SCHEMA_VERSION.to_owned()),
            KeyValue::new(TABLE_KEY.to_owned(), table.to_owned()),
        ]))
        .build()
}

/// One Parquet file being written under its temporary name.
struct ParquetFile {
    temp: TempFile,
    writer: ArrowWriter<File>,
    rows: u64,
}

impl ParquetFile {
    fn create(
        path: &Path,
        schema: SchemaRef,
        props: WriterProperties,
    ) -> Result<Self, ExportError> {
        let (temp, file) = TempFile::create(path)?;
        let writer = ArrowWriter::try_new(file, schema, Some(props)).map_err(|source| {
            ExportError::Parquet {
                path: path.to_owned(),
                source,
            }
        })?;
        Ok(ParquetFile {
            temp,
            writer,
            rows: 0,
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<(), ExportError> {
        self.writer
            .write(batch)
            .map_err(|source| ExportError::Parquet {
                path: self.temp.target().to_owned(),
                source,
            })?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    fn finish(self) -> Result<(PathBuf, u64), ExportError> {
        let ParquetFile { temp, writer, rows } = self;
        let file = writer.into_inner().map_err(|source| ExportError::Parquet {
            path: temp.target().to_owned(),
            source,
        })?;
        file.sync_all()
            .map_err(|e| ExportError::io(temp.temp(), e))?;
        drop(file);
        Ok((temp.commit()?, rows))
    }
}

/// How `requests` is laid out on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartitionBy {
    /// One file.
    None,
    /// `date=YYYY-MM-DD/part-<n>.parquet` by the UTC date of `timestamp`.
    Date,
    /// `node=<node>/part-<n>.parquet`; the `node` column is then only in the path, as
    /// Spark requires.
    Node,
}

/// Room for rows the held columns start with; they grow as rows come.
const HELD_ROWS_AT_FIRST: usize = 1024;

/// A partitioned table being written inside a hidden temporary directory.
struct Partitioned {
    by: PartitionBy,
    target: PathBuf,
    temp_dir: PathBuf,
    /// Column indices written to the files (all but `node` for node partitions).
    projection: Option<Vec<usize>>,
    open: HashMap<String, (ParquetFile, u64)>,
    /// Rows not yet written, of every partition, in input order (see
    /// [`WriterOptions::max_open_writers`]). Writing each batch as it came, when it held more
    /// partitions than files may be open, cycled through every partition and started a new
    /// file in each for every batch.
    held: RequestColumns,
    /// The held rows of each partition folder: their indices in `held`, in input order.
    held_rows: BTreeMap<String, Vec<u32>>,
    /// Rows in `held`.
    held_count: usize,
    /// A write failed: rows held may have been dropped, so the table must not be finished.
    failed: bool,
    next_part: HashMap<String, u32>,
    tick: u64,
    files: Vec<PathBuf>,
    rows: u64,
    done: bool,
}

impl Drop for Partitioned {
    fn drop(&mut self) {
        if !self.done {
            self.open.clear();
            let _ = std::fs::remove_dir_all(&self.temp_dir);
        }
    }
}

enum Sink {
    Single(Option<Box<ParquetFile>>),
    Partitioned(Box<Partitioned>),
}

/// What [`RequestWriter::finish`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteStats {
    /// Final paths of the files, in the order they were finished.
    pub files: Vec<PathBuf>,
    /// Rows written in total.
    pub rows: u64,
}

/// Streams [`RequestVerdict`] rows into `requests.parquet` (or a hive-partitioned directory).
/// Nothing appears under the final name until [`RequestWriter::finish`]; dropping the writer
/// unfinished removes what it wrote.
pub struct RequestWriter {
    sink: Sink,
    opts: WriterOptions,
}

impl RequestWriter {
    /// One file at `path`, default options.
    pub fn create(path: &Path) -> Result<Self, ExportError> {
        Self::create_with(path, PartitionBy::None, WriterOptions::default())
    }

    /// A file (`PartitionBy::None`) or a hive-partitioned directory at `path`.
    pub fn create_with(
        path: &Path,
        by: PartitionBy,
        opts: WriterOptions,
    ) -> Result<Self, ExportError> {
        let schema = request_schema();
        let sink = match by {
            PartitionBy::None => Sink::Single(Some(Box::new(ParquetFile::create(
                path,
                schema,
                properties(&opts, "requests"),
            )?))),
            PartitionBy::Date | PartitionBy::Node => {
                let temp_dir = super::temp_path_for(path);
                std::fs::create_dir_all(&temp_dir).map_err(|e| ExportError::io(&temp_dir, e))?;
                let projection = (by == PartitionBy::Node).then(|| {
                    (0..schema.fields().len())
                        .filter(|&i| schema.field(i).name() != "node")
                        .collect()
                });
                Sink::Partitioned(Box::new(Partitioned {
                    by,
                    target: path.to_owned(),
                    temp_dir,
                    projection,
                    open: HashMap::new(),
                    held: RequestColumns::with_capacity(HELD_ROWS_AT_FIRST),
                    held_rows: BTreeMap::new(),
                    held_count: 0,
                    failed: false,
                    next_part: HashMap::new(),
                    tick: 0,
                    files: Vec::new(),
                    rows: 0,
                    done: false,
                }))
            }
        };
        Ok(RequestWriter { sink, opts })
    }

    /// Appends rows. Call with chunks of any size; row groups are cut by the writer.
    pub fn write_batch<'a>(
        &mut self,
        rows: impl IntoIterator<Item = &'a RequestVerdict>,
    ) -> Result<(), ExportError> {
        // References, so that a caller's rows need not be gathered in one slice first; the
        // columns are sized from the count, which a filtered iterator does not know, so the
        // references are (a pointer per row, against a row's some thirty allocations).
        let rows: Vec<&RequestVerdict> = rows.into_iter().collect();
        if rows.is_empty() {
            return Ok(());
        }
        match &mut self.sink {
            Sink::Single(file) => {
                let batch = request_batch(rows.into_iter())?;
                match file {
                    Some(f) => f.write(&batch),
                    None => Ok(()),
                }
            }
            Sink::Partitioned(p) => {
                p.check_not_failed()?;
                for r in rows {
                    // Rows are told apart by a `u32` index while held.
                    if p.held_count >= u32::MAX as usize {
                        p.write_held(&self.opts)?;
                    }
                    let index = u32::try_from(p.held_count).unwrap_or(u32::MAX);
                    p.held.append(r);
                    p.held_rows
                        .entry(partition_dir(p.by, r))
                        .or_default()
                        .push(index);
                    p.held_count += 1;
                }
                // Rows are written at once when that finishes no open file; otherwise they are
                // held until a row group's worth has come, so that a file is finished (and
                // its partition continued in a new one) at most once per row group.
                let max_open = self.opts.max_open_writers.max(1);
                let not_open = p
                    .held_rows
                    .keys()
                    .filter(|d| !p.open.contains_key(*d))
                    .count();
                if p.open.len() + not_open <= max_open
                    || p.held_count >= self.opts.row_group_rows.max(1)
                {
                    p.write_held(&self.opts)?;
                }
                Ok(())
            }
        }
    }

    /// Finishes every file and moves the output to its final name.
    pub fn finish(mut self) -> Result<WriteStats, ExportError> {
        match &mut self.sink {
            Sink::Single(file) => {
                let Some(f) = file.take() else {
                    return Ok(WriteStats {
                        files: Vec::new(),
                        rows: 0,
                    });
                };
                let (path, rows) = f.finish()?;
                Ok(WriteStats {
                    files: vec![path],
                    rows,
                })
            }
            Sink::Partitioned(p) => p.finish(&self.opts),
        }
    }
}

impl Partitioned {
    /// An error once a write has failed: the rows it held may be gone, and a table finished
    /// without them would look whole.
    fn check_not_failed(&self) -> Result<(), ExportError> {
        if self.failed {
            return Err(ExportError::io(
                &self.target,
                std::io::Error::other("an earlier write failed; rows were lost"),
            ));
        }
        Ok(())
    }

    /// Writes the rows held, a partition at a time (the ones whose file is open first, so
    /// that they are not evicted before their turn).
    fn write_held(&mut self, opts: &WriterOptions) -> Result<(), ExportError> {
        self.check_not_failed()?;
        if self.held_count == 0 {
            return Ok(());
        }
        self.failed = true;
        let batch = self.held.finish()?;
        let batch = match &self.projection {
            Some(cols) => batch.project(cols)?,
            None => batch,
        };
        let (mut order, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.held_rows)
            .into_iter()
            .partition(|(dir, _)| self.open.contains_key(dir));
        order.extend(rest);
        self.held_count = 0;
        for (dir, rows) in order {
            if rows.len() == batch.num_rows() {
                // One partition: its rows are the batch, in order.
                self.write(&dir, &batch, opts)?;
                continue;
            }
            let part = arrow_select::take::take_record_batch(
                &batch,
                &arrow_array::UInt32Array::from(rows),
            )?;
            self.write(&dir, &part, opts)?;
        }
        self.failed = false;
        Ok(())
    }

    fn write(
        &mut self,
        dir: &str,
        batch: &RecordBatch,
        opts: &WriterOptions,
    ) -> Result<(), ExportError> {
        self.tick += 1;
        if !self.open.contains_key(dir) {
            if self.open.len() >= opts.max_open_writers.max(1) {
                self.evict_oldest()?;
            }
            let part = self.next_part.entry(dir.to_owned()).or_insert(0);
            let path = self
                .temp_dir
                .join(dir)
                .join(format!("part-{}.parquet", *part));
            *part += 1;
            let file_schema = batch.schema();
            let file = ParquetFile::create(&path, file_schema, properties(opts, "requests"))?;
            self.open.insert(dir.to_owned(), (file, self.tick));
        }
        if let Some((file, last)) = self.open.get_mut(dir) {
            *last = self.tick;
            file.write(batch)?;
        }
        Ok(())
    }

    fn evict_oldest(&mut self) -> Result<(), ExportError> {
        let oldest = self
            .open
            .iter()
            .min_by_key(|(_, (_, last))| *last)
            .map(|(k, _)| k.clone());
        if let Some((file, _)) = oldest.and_then(|k| self.open.remove(&k)) {
            self.finish_file(file)?;
        }
        Ok(())
    }

    fn finish_file(&mut self, file: ParquetFile) -> Result<(), ExportError> {
        let (path, rows) = file.finish()?;
        let rel = path.strip_prefix(&self.temp_dir).unwrap_or(&path);
        self.files.push(self.target.join(rel));
        self.rows += rows;
        Ok(())
    }

    fn finish(&mut self, opts: &WriterOptions) -> Result<WriteStats, ExportError> {
        self.write_held(opts)?;
        let mut open: Vec<(String, (ParquetFile, u64))> = self.open.drain().collect();
        open.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, (file, _)) in open {
            self.finish_file(file)?;
        }
        if self.files.is_empty() {
            // No rows: one empty file in the null partition, laid out as any other, so that
            // readers find every column (the partition key from the path) instead of failing
            // on an empty directory (DuckDB: "No files found").
            let schema = request_schema();
            let schema = match &self.projection {
                Some(cols) => Arc::new(schema.project(cols)?),
                None => schema,
            };
            let dir = format!("{}={HIVE_NULL_PARTITION}", partition_key(self.by));
            let path = self.temp_dir.join(dir).join("part-0.parquet");
            let file = ParquetFile::create(&path, schema, properties(opts, "requests"))?;
            self.finish_file(file)?;
        }
        // Replace a previous table as a whole: readers see the old or the new directory.
        if self.target.exists() {
            let old = super::temp_path_for(&self.target);
            std::fs::rename(&self.target, &old).map_err(|e| ExportError::io(&self.target, e))?;
            std::fs::rename(&self.temp_dir, &self.target)
                .map_err(|e| ExportError::io(&self.target, e))?;
            let _ = std::fs::remove_dir_all(&old);
        } else {
            std::fs::rename(&self.temp_dir, &self.target)
                .map_err(|e| ExportError::io(&self.target, e))?;
        }
        self.done = true;
        Ok(WriteStats {
            files: std::mem::take(&mut self.files),
            rows: self.rows,
        })
    }
}

/// Escapes a hive partition value: bytes outside `[A-Za-z0-9._-]` become `%XX` (what Hive,
/// Spark and pyarrow decode); empty becomes [`HIVE_NULL_PARTITION`].
pub fn hive_escape(value: &str) -> String {
    if value.is_empty() {
        return HIVE_NULL_PARTITION.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The column a table is partitioned by (empty when it is not).
fn partition_key(by: PartitionBy) -> &'static str {
    match by {
        PartitionBy::None => "",
        PartitionBy::Date => "date",
        PartitionBy::Node => "node",
    }
}

/// The partition directory of a row: `date=2026-11-02` or `node=node1`.
pub fn partition_dir(by: PartitionBy, row: &RequestVerdict) -> String {
    let value = match by {
        PartitionBy::None => return String::new(),
        PartitionBy::Date => row
            .timestamp
            .map(format_date)
            .unwrap_or_else(|| HIVE_NULL_PARTITION.to_owned()),
        PartitionBy::Node => hive_escape(&row.node),
    };
    format!("{}={value}", partition_key(by))
}

fn dict(n: usize) -> StringDictionaryBuilder<Int32Type> {
    StringDictionaryBuilder::with_capacity(n, 64, 1024)
}

fn list(n: usize) -> ListBuilder<StringBuilder> {
    ListBuilder::with_capacity(StringBuilder::new(), n)
}

fn append_list(b: &mut ListBuilder<StringBuilder>, values: &[impl AsRef<str>]) {
    for v in values {
        b.values().append_value(v.as_ref());
    }
    b.append(true);
}

/// The `requests` columns being built, a row at a time; [`RequestColumns::finish`] gives the
/// batch (in the column order of `REQUEST_COLUMNS`, which `RecordBatch::try_new` checks type
/// by type) and leaves the builders empty for the next rows.
struct RequestColumns {
    audit_id: StringBuilder,
    timestamp: TimestampMicrosecondBuilder,
    node: StringDictionaryBuilder<Int32Type>,
    username: StringDictionaryBuilder<Int32Type>,
    groups: ListBuilder<StringBuilder>,
    user_agent: StringDictionaryBuilder<Int32Type>,
    source_ips: ListBuilder<StringBuilder>,
    verb: StringDictionaryBuilder<Int32Type>,
    api_group: StringDictionaryBuilder<Int32Type>,
    resource: StringDictionaryBuilder<Int32Type>,
    subresource: StringDictionaryBuilder<Int32Type>,
    namespace: StringDictionaryBuilder<Int32Type>,
    name: StringBuilder,
    request_uri: StringBuilder,
    rec_decision: StringDictionaryBuilder<Int32Type>,
    rec_annotation: StringDictionaryBuilder<Int32Type>,
    rec_reason: StringBuilder,
    rec_code: Int32Builder,
    rec_admission: BooleanBuilder,
    na_decision: StringDictionaryBuilder<Int32Type>,
    na_reason: StringDictionaryBuilder<Int32Type>,
    nr_decision: StringDictionaryBuilder<Int32Type>,
    nr_reason: StringBuilder,
    rbac_decision: StringDictionaryBuilder<Int32Type>,
    rbac_reason: StringDictionaryBuilder<Int32Type>,
    rbac_binding: StringDictionaryBuilder<Int32Type>,
    rbac_role: StringDictionaryBuilder<Int32Type>,
    verdict: StringDictionaryBuilder<Int32Type>,
    verdict_reason: StringBuilder,
    change: StringDictionaryBuilder<Int32Type>,
    evidence: StringDictionaryBuilder<Int32Type>,
    evidence_path: ListBuilder<StringBuilder>,
    evidence_detail: StringBuilder,
    source_file: StringDictionaryBuilder<Int32Type>,
    source_line: Int64Builder,
}

impl RequestColumns {
    /// Builders with room for `n` rows.
    fn with_capacity(n: usize) -> Self {
        RequestColumns {
            audit_id: StringBuilder::with_capacity(n, n * 36),
            timestamp: TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC"),
            node: dict(n),
            username: dict(n),
            groups: list(n),
            user_agent: dict(n),
            source_ips: list(n),
            verb: dict(n),
            api_group: dict(n),
            resource: dict(n),
            subresource: dict(n),
            namespace: dict(n),
            name: StringBuilder::new(),
            request_uri: StringBuilder::new(),
            rec_decision: dict(n),
            rec_annotation: dict(n),
            rec_reason: StringBuilder::new(),
            rec_code: Int32Builder::with_capacity(n),
            rec_admission: BooleanBuilder::with_capacity(n),
            na_decision: dict(n),
            na_reason: dict(n),
            nr_decision: dict(n),
            nr_reason: StringBuilder::new(),
            rbac_decision: dict(n),
            rbac_reason: dict(n),
            rbac_binding: dict(n),
            rbac_role: dict(n),
            verdict: dict(n),
            verdict_reason: StringBuilder::new(),
            change: dict(n),
            evidence: dict(n),
            evidence_path: list(n),
            evidence_detail: StringBuilder::new(),
            source_file: dict(n),
            source_line: Int64Builder::with_capacity(n),
        }
    }

    fn append(&mut self, r: &RequestVerdict) {
        self.audit_id.append_value(&r.audit_id);
        self.timestamp.append_option(r.timestamp);
        self.node.append_value(&r.node);
        self.username.append_value(&r.username);
        append_list(&mut self.groups, &r.groups);
        self.user_agent.append_value(&r.user_agent);
        append_list(&mut self.source_ips, &r.source_ips);
        self.verb.append_value(&r.verb);
        self.api_group.append_value(&r.api_group);
        self.resource.append_value(&r.resource);
        self.subresource.append_value(&r.subresource);
        self.namespace.append_value(&r.namespace);
        self.name.append_value(&r.name);
        self.request_uri.append_value(&r.request_uri);
        self.rec_decision.append_value(r.recorded.decision.as_str());
        self.rec_annotation
            .append_option(r.recorded.annotation.as_deref());
        self.rec_reason.append_option(r.recorded.reason.as_deref());
        self.rec_code.append_option(r.recorded.code);
        self.rec_admission.append_value(r.recorded.by_admission);
        self.na_decision
            .append_value(r.node_authorizer.decision.as_str());
        self.na_reason.append_value(&r.node_authorizer.reason);
        self.nr_decision
            .append_value(r.node_restriction.decision.as_str());
        self.nr_reason.append_value(&r.node_restriction.reason);
        self.rbac_decision.append_value(r.rbac.decision.as_str());
        self.rbac_reason.append_value(&r.rbac.reason);
        self.rbac_binding
            .append_option(r.rbac.binding.as_ref().map(|b| b.to_string()));
        self.rbac_role.append_option(r.rbac.role.as_deref());
        self.verdict.append_value(r.verdict.as_str());
        self.verdict_reason.append_value(&r.verdict_reason);
        self.change.append_value(r.change.as_str());
        self.evidence.append_value(r.evidence.kind());
        append_list(&mut self.evidence_path, r.evidence.path());
        self.evidence_detail.append_option(r.evidence.detail());
        self.source_file.append_value(&r.source_file);
        self.source_line
            .append_value(i64::try_from(r.source_line).unwrap_or(i64::MAX));
    }

    fn finish(&mut self) -> Result<RecordBatch, ExportError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.audit_id.finish()),
            Arc::new(self.timestamp.finish()),
            Arc::new(self.node.finish()),
            Arc::new(self.username.finish()),
            Arc::new(self.groups.finish()),
            Arc::new(self.user_agent.finish()),
            Arc::new(self.source_ips.finish()),
            Arc::new(self.verb.finish()),
            Arc::new(self.api_group.finish()),
            Arc::new(self.resource.finish()),
            Arc::new(self.subresource.finish()),
            Arc::new(self.namespace.finish()),
            Arc::new(self.name.finish()),
            Arc::new(self.request_uri.finish()),
            Arc::new(self.rec_decision.finish()),
            Arc::new(self.rec_annotation.finish()),
            Arc::new(self.rec_reason.finish()),
            Arc::new(self.rec_code.finish()),
            Arc::new(self.rec_admission.finish()),
            Arc::new(self.na_decision.finish()),
            Arc::new(self.na_reason.finish()),
            Arc::new(self.nr_decision.finish()),
            Arc::new(self.nr_reason.finish()),
            Arc::new(self.rbac_decision.finish()),
            Arc::new(self.rbac_reason.finish()),
            Arc::new(self.rbac_binding.finish()),
            Arc::new(self.rbac_role.finish()),
            Arc::new(self.verdict.finish()),
            Arc::new(self.verdict_reason.finish()),
            Arc::new(self.change.finish()),
            Arc::new(self.evidence.finish()),
            Arc::new(self.evidence_path.finish()),
            Arc::new(self.evidence_detail.finish()),
            Arc::new(self.source_file.finish()),
            Arc::new(self.source_line.finish()),
        ];
        Ok(RecordBatch::try_new(request_schema(), columns)?)
    }
}

/// Builds one `requests` batch.
pub fn request_batch<'a>(
    rows: impl ExactSizeIterator<Item = &'a RequestVerdict>,
) -> Result<RecordBatch, ExportError> {
    let mut columns = RequestColumns::with_capacity(rows.len());
    for r in rows {
        columns.append(r);
    }
    columns.finish()
}

/// Builds the `findings` batch.
pub fn findings_batch(findings: &Findings) -> Result<RecordBatch, ExportError> {
    let n = findings.items.len();
    let mut id = StringBuilder::new();
    let mut severity = dict(n);
    let mut kind = dict(n);
    let mut binding = StringBuilder::new();
    let mut role = StringBuilder::new();
    let mut subject = StringBuilder::new();
    let mut rules = list(n);
    let mut observed = list(n);
    let mut detail = dict(n);
    let mut requests_using = Int64Builder::with_capacity(n);
    for f in &findings.items {
        id.append_value(&f.id);
        severity.append_value(f.severity.as_str());
        kind.append_value(f.kind.as_str());
        binding.append_option(f.binding.as_ref().map(|b| b.to_string()));
        role.append_option(f.role.as_deref());
        subject.append_value(&f.subject);
        append_list(&mut rules, &f.rules);
        append_list(&mut observed, &f.observed);
        detail.append_value(&f.detail);
        requests_using.append_value(i64::try_from(f.requests_using).unwrap_or(i64::MAX));
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(severity.finish()),
        Arc::new(kind.finish()),
        Arc::new(binding.finish()),
        Arc::new(role.finish()),
        Arc::new(subject.finish()),
        Arc::new(rules.finish()),
        Arc::new(observed.finish()),
        Arc::new(detail.finish()),
        Arc::new(requests_using.finish()),
    ];
    Ok(RecordBatch::try_new(findings_schema(), columns)?)
}

/// Writes `findings.parquet` atomically.
pub fn write_findings(path: &Path, findings: &Findings) -> Result<PathBuf, ExportError> {
    let batch = findings_batch(findings)?;
    let mut file = ParquetFile::create(
        path,
        findings_schema(),
        properties(&WriterOptions::default(), "findings"),
    )?;
    file.write(&batch)?;
    Ok(file.finish()?.0)
}
