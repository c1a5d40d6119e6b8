#!/usr/bin/env python3
"""Independent check of nodeauthz Parquet output against the jsonl form of the same rows.

Usage:
    check_parquet.py [--table requests|findings] [--partition-by none|date|node] PARQUET JSONL

PARQUET is a file or a hive-partitioned directory. JSONL holds one object per row, as
nodeauthz serialises them (RequestVerdict / Finding). The script checks, with pyarrow and
DuckDB (never with the Rust code under test):
  - every file's key-value metadata carries nodeauthz.schema_version (and the table name),
    and every column chunk is zstd-compressed;
  - every column has the documented type (dictionary<string,int32>, timestamp[us, UTC],
    list<string>, ...) and nullability;
  - the rows are exactly the jsonl rows: same set of keys, and every value equal;
  - partition directories agree with the rows (date of timestamp, node name);
  - DuckDB reads the same table (hive partitions included) with the same row count and the
    same counts per verdict (requests) or severity (findings).
Exit status 0 when everything matches; 1 with a list of mismatches otherwise.

Needs: pip install pyarrow duckdb
"""

import argparse
import datetime as dt
import json
import os
import sys

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

SCHEMA_VERSION = "1"
DICT = pa.dictionary(pa.int32(), pa.string())
STR = pa.string()
LIST = "list<string>"
TIME = pa.timestamp("us", tz="UTC")


def get(path):
    """Accessor for a (possibly nested) jsonl field."""
    def f(obj):
        for key in path.split("."):
            obj = obj[key]
        return obj
    return f


def ts(obj):
    value = obj["timestamp"]
    if value is None:
        return None
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)


# (column, type, nullable, how to get the expected value from a jsonl object)
REQUEST_COLUMNS = [
    ("audit_id", STR, False, get("audit_id")),
    ("timestamp", TIME, True, ts),
    ("node", DICT, False, get("node")),
    ("username", DICT, False, get("username")),
    ("groups", LIST, False, get("groups")),
    ("user_agent", DICT, False, get("user_agent")),
    ("source_ips", LIST, False, get("source_ips")),
    ("verb", DICT, False, get("verb")),
    ("api_group", DICT, False, get("api_group")),
    ("resource", DICT, False, get("resource")),
    ("subresource", DICT, False, get("subresource")),
    ("namespace", DICT, False, get("namespace")),
    ("name", STR, False, get("name")),
    ("request_uri", STR, False, get("request_uri")),
    ("recorded_decision", DICT, False, get("recorded.decision")),
    ("recorded_annotation", DICT, True, get("recorded.annotation")),
    ("recorded_reason", STR, True, get("recorded.reason")),
    ("recorded_code", pa.int32(), True, get("recorded.code")),
    ("recorded_by_admission", pa.bool_(), False, get("recorded.by_admission")),
    ("node_authorizer_decision", DICT, False, get("node_authorizer.decision")),
    ("node_authorizer_reason", DICT, False, get("node_authorizer.reason")),
    ("node_restriction_decision", DICT, False, get("node_restriction.decision")),
    ("node_restriction_reason", STR, False, get("node_restriction.reason")),
    ("rbac_decision", DICT, False, get("rbac.decision")),
    ("rbac_reason", DICT, False, get("rbac.reason")),
    ("rbac_binding", DICT, True, get("rbac.binding")),
    ("rbac_role", DICT, True, get("rbac.role")),
    ("verdict", DICT, False, get("verdict")),
    ("verdict_reason", STR, False, get("verdict_reason")),
    ("change", DICT, False, get("change")),
    ("evidence", DICT, False, get("evidence.kind")),
    ("evidence_path", LIST, False, get("path")),
    ("evidence_detail", STR, True, get("evidence.detail")),
    ("source_file", DICT, False, get("source.file")),
    ("source_line", pa.int64(), False, get("source.line")),
]

FINDING_COLUMNS = [
    ("finding_id", STR, False, get("id")),
    ("severity", DICT, False, get("severity")),
    ("kind", DICT, False, get("kind")),
    ("binding", STR, True, get("binding")),
    ("role", STR, True, get("role")),
    ("subject", STR, False, get("subject")),
    ("rules", LIST, False, get("rules")),
    ("observed", LIST, False, get("observed")),
    ("detail", DICT, False, get("detail")),
    ("requests_using", pa.int64(), False, get("requests_using")),
]

TABLES = {
    "requests": (REQUEST_COLUMNS, "audit_id", "verdict"),
    "findings": (FINDING_COLUMNS, "finding_id", "severity"),
}


def type_ok(actual, expected):
    if expected == LIST:
        return pa.types.is_list(actual) and actual.value_type == pa.string()
    return actual == expected


def parquet_files(path):
    if os.path.isfile(path):
        return [path]
    out = []
    for root, dirs, files in os.walk(path):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        for name in files:
            if name.endswith(".parquet") and not name.startswith((".", "_")):
                out.append(os.path.join(root, name))
    return sorted(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--table", choices=sorted(TABLES), default="requests")
    ap.add_argument("--partition-by", choices=["none", "date", "node"], default="none")
    ap.add_argument("parquet")
    ap.add_argument("jsonl")
    args = ap.parse_args()
    columns, key_col, count_col = TABLES[args.table]
    errors = []

    def err(msg):
        errors.append(msg)

    partition_col = None if args.partition_by == "none" else args.partition_by
    files = parquet_files(args.parquet)
    if not files:
        err(f"no parquet files under {args.parquet}")

    # Per-file metadata and schema.
    for f in files:
        meta = pq.read_metadata(f).metadata or {}
        version = meta.get(b"nodeauthz.schema_version")
        if version != SCHEMA_VERSION.encode():
            err(f"{f}: nodeauthz.schema_version is {version!r}, expected {SCHEMA_VERSION!r}")
        table_name = meta.get(b"nodeauthz.table")
        if table_name != args.table.encode():
            err(f"{f}: nodeauthz.table is {table_name!r}, expected {args.table!r}")
        md = pq.read_metadata(f)
        for rg in range(md.num_row_groups):
            for ci in range(md.num_columns):
                codec = md.row_group(rg).column(ci).compression
                if codec != "ZSTD":
                    err(f"{f}: row group {rg} column {ci} compressed with {codec}, expected ZSTD")
        schema = pq.read_schema(f)
        expected_names = [c[0] for c in columns if c[0] != (partition_col if partition_col == "node" else None)]
        if schema.names != expected_names:
            err(f"{f}: columns {schema.names} != {expected_names}")
        for name, typ, nullable, _ in columns:
            if name not in schema.names:
                continue
            field = schema.field(name)
            if not type_ok(field.type, typ):
                err(f"{f}: column {name} has type {field.type}, expected {typ}")
            if field.nullable != nullable:
                err(f"{f}: column {name} nullable={field.nullable}, expected {nullable}")
        if partition_col:
            rel = os.path.relpath(f, args.parquet).split(os.sep)
            if len(rel) != 2 or not rel[0].startswith(partition_col + "="):
                err(f"{f}: not inside a {partition_col}=<value> directory")

    # Rows, through pyarrow's dataset reader (hive partitions decoded by pyarrow).
    if partition_col:
        part_schema = pa.schema([(partition_col, pa.string())])
        dataset = ds.dataset(args.parquet, format="parquet",
                             partitioning=ds.partitioning(part_schema, flavor="hive"))
    else:
        dataset = ds.dataset(args.parquet, format="parquet")
    rows = dataset.to_table().to_pylist()

    expected = []
    with open(args.jsonl, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                expected.append(json.loads(line))
    if len(rows) != len(expected):
        err(f"row count: parquet {len(rows)}, jsonl {len(expected)}")

    key_get = dict((c[0], c[3]) for c in columns)[key_col]
    by_key = {}
    for obj in expected:
        k = key_get(obj)
        if k in by_key:
            err(f"jsonl: duplicate {key_col} {k!r}")
        by_key[k] = obj
    seen = set()
    for i, row in enumerate(rows):
        k = row.get(key_col)
        if k in seen:
            err(f"parquet: duplicate {key_col} {k!r}")
        seen.add(k)
        obj = by_key.get(k)
        if obj is None:
            err(f"parquet row {i}: {key_col} {k!r} not in jsonl")
            continue
        for name, _, _, getter in columns:
            want = getter(obj)
            got = row.get(name)
            if name == partition_col == "node" and want == "" and got is None:
                continue  # empty node name is written as the hive null partition
            if got != want:
                err(f"{key_col} {k!r}: column {name}: parquet {got!r} != jsonl {want!r}")
        if partition_col == "date":
            want_date = None if row["timestamp"] is None else row["timestamp"].strftime("%Y-%m-%d")
            if row["date"] != want_date:
                err(f"{key_col} {k!r}: partition date={row['date']!r}, timestamp date {want_date!r}")
    if not partition_col and [r.get(key_col) for r in rows] != [key_get(o) for o in expected]:
        err("row order differs from the jsonl order")
    for k in set(by_key) - seen:
        err(f"jsonl {key_col} {k!r} missing from parquet")

    # DuckDB, a second independent reader: count and a group-by.
    if files:
        try:
            con = duckdb.connect()
            if os.path.isfile(args.parquet):
                src = f"read_parquet('{args.parquet}')"
            else:
                src = f"read_parquet('{args.parquet}/**/*.parquet', hive_partitioning=true)"
            total = con.execute(f"SELECT count(*) FROM {src}").fetchone()[0]
            if total != len(expected):
                err(f"duckdb row count {total} != jsonl {len(expected)}")
            got = dict(con.execute(f"SELECT {count_col}::VARCHAR, count(*) FROM {src} GROUP BY 1").fetchall())
            want = {}
            count_get = dict((c[0], c[3]) for c in columns)[count_col]
            for obj in expected:
                want[count_get(obj)] = want.get(count_get(obj), 0) + 1
            if got != want:
                err(f"duckdb counts by {count_col} {got} != jsonl {want}")
            if partition_col == "node":
                got_nodes = dict(con.execute(
                    f"SELECT coalesce(node::VARCHAR, ''), count(*) FROM {src} GROUP BY 1").fetchall())
                want_nodes = {}
                for obj in expected:
                    want_nodes[obj["node"]] = want_nodes.get(obj["node"], 0) + 1
                if got_nodes != want_nodes:
                    err(f"duckdb counts by node {got_nodes} != jsonl {want_nodes}")
        except duckdb.Error as e:
            err(f"duckdb: {e}")

    if errors:
        for e in errors[:50]:
            print(e, file=sys.stderr)
        if len(errors) > 50:
            print(f"... and {len(errors) - 50} more", file=sys.stderr)
        return 1
    print(f"ok: {len(rows)} rows, {len(files)} file(s), {len(columns)} columns checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
