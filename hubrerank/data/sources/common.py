"""What every source reader shares: the shape a source is read into and the file and column helpers."""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from hubrerank.errors import InputError
from hubrerank.hub import first_line

TABLE_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".parquet")
SPLIT_ALIASES = {
    "train": "train",
    "dev": "eval",
    "val": "eval",
    "valid": "eval",
    "validation": "eval",
    "eval": "eval",
    "test": "test",
}
JUDGMENTS_SCHEMA = pa.schema(
    [
        ("query_id", pa.string()),
        ("query", pa.string()),
        ("doc_id", pa.string()),
        ("passage", pa.string()),
        ("label", pa.float64()),
        ("split", pa.string()),
    ]
)
CORPUS_SCHEMA = pa.schema([("doc_id", pa.string()), ("passage", pa.string())])
RANKING_SCHEMA = pa.schema([("query_id", pa.string()), ("doc_id", pa.string()), ("rank", pa.int64())])


@dataclass(frozen=True)
class ColumnHints:
    """Column names the user named (``--query-column``, ``--answer-column``, ``--label-column``)."""

    query: str | None = None
    answer: str | None = None
    label: str | None = None


@dataclass
class SourceData:
    """A source read into hubrerank's shape, before normalisation.

    ``judgments`` follow JUDGMENTS_SCHEMA (``split`` is null when the source has no splits), plus a
    ``score`` column when the source carries teacher scores (FlagEmbedding's ``pos_scores``); ``corpus``
    holds documents beyond the judged ones; ``ranking`` is the first stage the source already has.
    """

    name: str
    format: str
    judgments: pa.Table
    corpus: pa.Table | None = None
    ranking: pa.Table | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    license: str | None = None
    dropped: dict[str, int] = field(default_factory=dict)


def concat(name: str, parts: list[SourceData]) -> SourceData:
    """One source from parts of one format (files or splits), their dropped counts added up."""
    corpora = [p.corpus for p in parts if p.corpus is not None]
    dropped: dict[str, int] = {}
    for part in parts:
        for key, value in part.dropped.items():
            dropped[key] = dropped.get(key, 0) + value
    scored = [p.name for p in parts if "score" in p.judgments.column_names]
    if scored and len(scored) < len(parts):
        unscored = next(p.name for p in parts if p.name not in scored)
        raise InputError(
            f"{name}: {scored[0]} has scores (pos_scores/neg_scores) but {unscored} has none; "
            "give scores in every file or in none"
        )
    return SourceData(
        name=name,
        format=parts[0].format,
        judgments=pa.concat_tables([p.judgments for p in parts]),
        corpus=pa.concat_tables(corpora) if corpora else None,
        dropped=dropped,
    )


def check_utf8(path: Path) -> None:
    """Fail on the first invalid UTF-8 byte with its line number, reading the file in chunks."""
    if path.suffix.lower() == ".parquet":
        return
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                line += chunk[: max(error.start, 0)].count(b"\n")
                raise InputError(
                    f"{path} line {line}: invalid UTF-8 (byte 0x{chunk[error.start]:02x}); "
                    "re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"
                ) from None
            line += chunk.count(b"\n")
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty; pass a file with a header and rows")


def load_file(path: Path) -> pa.Table | dict:
    """A table (csv, tsv, jsonl, parquet, a JSON array of objects) or a JSON object (LlamaIndex)."""
    import pyarrow.csv as pacsv
    import pyarrow.json as pajson
    import pyarrow.parquet as pq

    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".tsv"):
            tsv = suffix == ".tsv"
            table = pacsv.read_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=1 << 24),
                parse_options=pacsv.ParseOptions(
                    delimiter="\t" if tsv else ",",
                    quote_char=False if tsv else '"',
                    newlines_in_values=not tsv,
                ),
            )
        elif suffix == ".jsonl":
            table = pajson.read_json(path, read_options=pajson.ReadOptions(block_size=1 << 24))
        elif suffix == ".parquet":
            table = pq.read_table(path)
        else:
            with path.open(encoding="utf-8") as handle:
                document = json.load(handle)
            if isinstance(document, dict):
                return document
            if not isinstance(document, list) or not all(isinstance(row, dict) for row in document):
                raise InputError(f"{path}: expected a JSON array of objects or a LlamaIndex object")
            table = pa.Table.from_pylist(document)
    except (pa.ArrowInvalid, json.JSONDecodeError) as error:
        message = first_line(error)
        if "Empty CSV file" in message:
            raise InputError(f"{path} is empty; pass a file with a header and rows") from None
        raise InputError(
            f"{path}: cannot parse it ({message}); check that it is valid {suffix[1:]}"
        ) from None
    if table.num_rows == 0:
        raise InputError(f"{path} has no rows; pass a file with a header and rows")
    return table


def find_column(
    columns: list[str], names: tuple[str, ...], given: str | None, what: str, option: str, where: str
) -> str | None:
    """The column ``given`` (checked), else the one column named like ``names``; None when there is none."""
    if given is not None:
        if given not in columns:
            raise InputError(f"{where}: no column {given!r} ({option}); columns are {', '.join(columns)}")
        return given
    found = [c for c in columns if c.lower() in names]
    if len(found) > 1:
        raise InputError(
            f"{where}: ambiguous {what} column ({', '.join(found)}); pick one with {option} "
            f"(columns are {', '.join(columns)})"
        )
    return found[0] if found else None


def as_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A text column as ``string`` (ids and numbers read as numbers become text)."""
    return column if pa.types.is_string(column.type) else column.cast(pa.string())


def parse_labels(name: str, column: pa.ChunkedArray, label_name: str) -> pa.ChunkedArray:
    """Labels as float64 in [0, 1]; the first null, unparsable or out-of-range row is named."""
    try:
        values = column.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        text = column.cast(pa.string()).to_pylist()
        row = next(i for i, v in enumerate(text) if not is_number(v))
        raise InputError(
            f"{name}: column {label_name!r} row {row + 1} has {text[row]!r}, not a number; "
            "labels must be 0/1 or a float in [0, 1]"
        ) from None
    bad = pc.fill_null(pc.or_(pc.less(values, 0.0), pc.greater(values, 1.0)), True)
    if pc.any(bad).as_py():
        row = pc.index(bad, True).as_py()
        raise InputError(
            f"{name}: column {label_name!r} row {row + 1} has {values[row].as_py()}; labels must be 0/1 or a "
            "float in [0, 1] (rescale them, or use --format beir for graded qrels)"
        )
    return values


def is_number(value: Any) -> bool:
    """Whether ``float(value)`` works."""
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


# ---------------------------------------------------------------------------------------------------- tables

QUERY_NAMES = ("query", "queries", "question", "anchor", "q")
QUERY_ID_NAMES = ("query_id", "qid", "query-id")
ANSWER_NAMES = ("answer", "positive", "passage", "passages", "document", "a")


@dataclass(frozen=True)
class SourceTable:
    """One table of a source (a file, a Hub split) and what a table format's reader needs besides it:
    the columns the user named, the split it belongs to, and which columns hold lists."""

    name: str
    table: pa.Table
    hints: ColumnHints
    split: str | None
    is_list: dict[str, bool]

    @property
    def columns(self) -> list[str]:
        return self.table.column_names


@dataclass(frozen=True)
class TableFormat:
    """A format read from tables: ``detects`` tells it by its columns (when no format is forced) and
    ``read`` turns the table into judgments, given the query column and the query id column if any."""

    detects: Callable[[SourceTable], bool]
    read: Callable[[SourceTable, str, str | None], SourceData]


def answer_column(source: SourceTable) -> str:
    """The answer/passage column (a text column); InputError naming the columns when there is none."""
    columns = source.columns
    answer = find_column(
        [c for c in columns if not source.is_list[c]],
        ANSWER_NAMES,
        source.hints.answer,
        "answer",
        "--answer-column",
        source.name,
    )
    if answer is None:
        raise InputError(
            f"{source.name}: no answer/passage column (looked for {', '.join(ANSWER_NAMES)}); columns are "
            f"{', '.join(columns)}; pass --answer-column NAME"
        )
    return answer


def pair_judgments(
    source: SourceTable,
    format: str,
    query: str,
    query_id: str | None,
    answer: str,
    labels: pa.Array | pa.ChunkedArray,
) -> SourceData:
    """One judgment per row: the row's query and answer with its label."""
    table, n = source.table, source.table.num_rows
    judgments = pa.table(
        {
            "query_id": as_text(table[query_id]) if query_id else pa.nulls(n, pa.string()),
            "query": as_text(table[query]),
            "doc_id": pa.nulls(n, pa.string()),
            "passage": as_text(table[answer]),
            "label": labels,
            "split": pa.array([source.split] * n, pa.string()),
        },
        schema=JUDGMENTS_SCHEMA,
    )
    return SourceData(name=source.name, format=format, judgments=judgments)
