"""Check a built dataset (a folder written by ``--out`` or ``REPO@REV``) against docs/contracts.md.

Per split: the columns make one form (eval/test must be reranking), texts are non-empty, labels lie in
[0, 1], no row repeats; across splits: no query text is in two splits. A retrieval-form dataset's tables
(``corpus/corpus``, ``queries/SPLIT``, ``qrels/SPLIT``): texts non-empty, ids unique, qrels naming only
ids their corpus and queries hold. Errors make ``validate`` exit 1.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hubrerank.data.stats import detect_form
from hubrerank.errors import InputError

METADATA_FILE = "hubrerank_dataset.json"
TEXT_COLUMNS = ("query", "passage", "positive")
LIST_TEXT_COLUMNS = ("positive", "negative", "documents")
EVAL_SPLITS = ("eval", "test")
SPLIT_ORDER = ("train", "eval", "test")
# data/{config}-{split}-00000-of-00001.parquet: a retrieval-form table, named config/split
_RETRIEVAL_FILE = re.compile(r"^(corpus|queries|qrels)-([^-]+)-\d+-of-\d+\.parquet$")


@dataclass(frozen=True)
class Finding:
    """One problem: ``level`` is ``error`` or ``warning``; ``split`` is None for cross-split findings."""

    level: str
    split: str | None
    message: str

    def __str__(self) -> str:
        where = f"[{self.split}] " if self.split else ""
        return f"{self.level}: {where}{self.message}"


@dataclass
class BuiltDataset:
    """A built dataset read back: its split tables, metadata (None if absent) and a display name."""

    name: str
    tables: dict[str, pa.Table]
    metadata: dict[str, Any] | None


def load_built(ref: str) -> BuiltDataset:
    """Read ``data/{split}-*.parquet`` and the metadata from a local folder or a Hub ``REPO[@REV]``."""
    path = Path(ref)
    if path.is_dir():
        folder, name = path, ref
    elif os.path.exists(ref):
        raise InputError(f"{ref} is a file; pass the folder written by --out or a Hub REPO@REV")
    else:
        from hubrerank.errors import RefError
        from hubrerank.hub import download, resolve
        from hubrerank.refs import Ref

        try:
            parsed = Ref.parse(ref, "dataset")
        except RefError:
            raise InputError(f"{ref} is neither a folder nor a Hub dataset REPO[@REV]") from None
        resolved = resolve(parsed)
        folder = download(resolved, allow_patterns=["data/*", "README.md", METADATA_FILE])
        name = str(resolved)
    files = sorted((folder / "data").glob("*.parquet")) if (folder / "data").is_dir() else []
    if not files:
        raise InputError(
            f"{name} has no data/*.parquet files; pass a folder written by hubrerank data build --out"
        )
    import pyarrow.parquet as pq

    grouped: dict[str, list[pa.Table]] = {}
    for file in files:
        retrieval = _RETRIEVAL_FILE.match(file.name)
        key = f"{retrieval[1]}/{retrieval[2]}" if retrieval else file.name.split("-")[0]
        grouped.setdefault(key, []).append(pq.read_table(file))
    order = sorted(grouped, key=lambda s: (SPLIT_ORDER.index(s) if s in SPLIT_ORDER else len(SPLIT_ORDER), s))
    tables = {split: pa.concat_tables(grouped[split]) for split in order}
    metadata_file = folder / METADATA_FILE
    metadata = json.loads(metadata_file.read_text(encoding="utf-8")) if metadata_file.is_file() else None
    return BuiltDataset(name, tables, metadata)


def validate_tables(tables: dict[str, pa.Table], threshold: float = 0.5) -> list[Finding]:
    """Every problem found, errors first."""
    findings: list[Finding] = []
    for split, table in tables.items():
        findings += _check_retrieval(split, table) if "/" in split else _check_split(split, table, threshold)
    findings += _check_leaks(tables) + _check_qrels(tables)
    return sorted(findings, key=lambda f: f.level != "error")


RETRIEVAL_COLUMNS = {
    "corpus": ("_id", "text"),
    "queries": ("_id", "text"),
    "qrels": ("query-id", "corpus-id"),
}


def _check_retrieval(name: str, table: pa.Table) -> list[Finding]:
    """A retrieval-form table: its config's columns, strings, non-empty texts, unique ids or qrels."""
    found: list[Finding] = []
    config = name.split("/")[0]
    columns = RETRIEVAL_COLUMNS[config]
    missing = [column for column in columns if column not in table.column_names]
    if missing:
        return [Finding("error", name, f"missing column(s) {', '.join(missing)} (docs/contracts.md)")]
    for column in columns:
        if not pa.types.is_string(table.schema.field(column).type):
            found.append(Finding("error", name, f"column {column!r} is {table.schema.field(column).type}"))
            return found
    if config == "qrels":
        _check_duplicates(found, name, table, ["query-id", "corpus-id"], "(query-id, corpus-id) pair")
    else:
        _check_empty(found, name, "text", table["text"], None)
        _check_duplicates(found, name, table, ["_id"], "_id")
    return found


def _check_qrels(tables: dict[str, pa.Table]) -> list[Finding]:
    """Each qrels split names only corpus ids of the corpus and query ids of its queries split."""
    found: list[Finding] = []
    corpus = tables.get("corpus/corpus")
    for name in (n for n in tables if n.startswith("qrels/")):
        qrels, split = tables[name], name.split("/")[1]
        queries = tables.get(f"queries/{split}")
        for column, known, what in (
            ("corpus-id", corpus, "corpus/corpus"),
            ("query-id", queries, f"queries/{split}"),
        ):
            if known is None or column not in qrels.column_names or "_id" not in known.column_names:
                found.append(Finding("error", name, f"has no {what} table to refer to"))
                continue
            unknown = pc.filter(qrels[column], pc.invert(pc.is_in(qrels[column], known["_id"])))
            if len(unknown):
                found.append(
                    Finding("error", name, f"{len(unknown)} {column}s are not in {what} (e.g. {unknown[0]})")
                )
    return found


def _check_split(split: str, table: pa.Table, threshold: float) -> list[Finding]:
    found: list[Finding] = []

    def error(message: str) -> None:
        found.append(Finding("error", split, message))

    form = detect_form(table)
    if form is None:
        error(f"columns {', '.join(table.column_names)} make none of the forms (docs/contracts.md)")
        return found
    if split in EVAL_SPLITS and form != "reranking":
        error(
            f"{split} must be in reranking form (query_id, query, positive, negative, documents), not {form}"
        )
    if table.num_rows == 0:
        error("no rows")
        return found
    for column in table.column_names:
        typ = table.schema.field(column).type
        if column in LIST_TEXT_COLUMNS and form in ("reranking", "labeled-list"):
            if not (pa.types.is_list(typ) and pa.types.is_string(typ.value_type)):
                error(f"column {column!r} is {typ}, expected list<string>")
                continue
            _check_empty(found, split, column, pc.list_flatten(table[column]), table[column])
        elif column in TEXT_COLUMNS or column.startswith("negative_"):
            if not pa.types.is_string(typ):
                error(f"column {column!r} is {typ}, expected string")
                continue
            _check_empty(found, split, column, table[column], None)
    if form == "labeled-pair":
        _check_labels(found, split, "label", table["label"])
        _check_duplicates(found, split, table, ["query", "passage"], "(query, passage) pair")
    elif form == "labeled-list":
        _check_labels(found, split, "labels", pc.list_flatten(table["labels"]))
        if not pc.all(
            pc.equal(pc.list_value_length(table["documents"]), pc.list_value_length(table["labels"]))
        ).as_py():
            error("documents and labels have different lengths in some row")
        _check_duplicates(found, split, table, ["query"], "query")
    elif form == "n-tuple":
        negatives = [c for c in table.column_names if c.startswith("negative_")]
        # a query and positive may repeat with other negatives (triplets); the whole row may not
        what = "(query, positive, negatives) row" if negatives else "(query, positive) row"
        _check_duplicates(found, split, table, ["query", "positive", *negatives], what)
        for column in negatives:
            same = pc.equal(table["positive"], table[column])
            if pc.any(same).as_py():
                error(f"row {pc.index(same, True).as_py() + 1}: {column} equals the positive")
    else:
        _check_duplicates(found, split, table, ["query"], "query")
        empty = pc.equal(pc.list_value_length(table["positive"]), 0)
        if pc.any(empty).as_py():
            count = pc.sum(pc.cast(empty, pa.int64())).as_py()
            found.append(
                Finding("warning", split, f"{count} queries have no positive (evaluators skip them)")
            )
    return found


def _check_empty(found: list[Finding], split: str, column: str, values: Any, lists: Any) -> None:
    empty = pc.fill_null(pc.equal(pc.utf8_length(values), 0), True)
    if len(empty) and pc.any(empty).as_py():
        position = pc.index(empty, True).as_py()
        row = pc.list_parent_indices(lists)[position].as_py() if lists is not None else position
        count = pc.sum(pc.cast(empty, pa.int64())).as_py()
        found.append(
            Finding("error", split, f"column {column!r} has {count} empty texts (first in row {row + 1})")
        )


def _check_labels(found: list[Finding], split: str, column: str, values: Any) -> None:
    if not pa.types.is_floating(values.type) and not pa.types.is_integer(values.type):
        found.append(Finding("error", split, f"column {column!r} is {values.type}, expected float"))
        return
    bad = pc.fill_null(pc.or_(pc.less(values, 0), pc.greater(values, 1)), True)
    if len(bad) and pc.any(bad).as_py():
        position = pc.index(bad, True).as_py()
        found.append(
            Finding(
                "error",
                split,
                f"column {column!r} value {values[position].as_py()} (item {position + 1}) is outside [0, 1]",
            )
        )


def _check_duplicates(found: list[Finding], split: str, table: pa.Table, keys: list[str], what: str) -> None:
    """Repeated rows by ``keys``, found on dictionary codes (integers), not on hashed strings."""
    key = np.zeros(table.num_rows, dtype=np.int64)
    for column in keys:
        encoded = pc.dictionary_encode(table[column].combine_chunks())
        key = key * (len(encoded.dictionary) + 1) + encoded.indices.to_numpy(zero_copy_only=False)
    _, first, counts = np.unique(key, return_index=True, return_counts=True)
    repeated = counts > 1
    if repeated.any():
        row = int(first[repeated].min())
        shown = str(table[keys[0]][row].as_py())[:60]
        found.append(
            Finding("error", split, f"{int(repeated.sum())} repeated {what}s (e.g. query {shown!r})")
        )


def _check_leaks(tables: dict[str, pa.Table]) -> list[Finding]:
    found: list[Finding] = []
    texts = {s: table["query"] for s, table in tables.items() if "query" in table.column_names}
    texts |= {
        s: t["text"] for s, t in tables.items() if s.startswith("queries/") and "text" in t.column_names
    }
    names = list(texts)
    for i, first in enumerate(names):
        for second in names[i + 1 :]:
            a = pc.unique(texts[first])
            shared = pc.filter(a, pc.is_in(a, pc.unique(texts[second])))
            if len(shared):
                found.append(
                    Finding(
                        "error",
                        None,
                        f"{len(shared)} queries are in both {first} and {second} "
                        f"(e.g. {shared[0].as_py()[:60]!r}); rebuild so that each query lands in one split",
                    )
                )
    return found
