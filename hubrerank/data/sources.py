"""Read a reranking source into one shape: judged (query, passage, label) rows, a corpus and a ranking.

Sources are a local file or folder, or a Hub dataset ``REPO[@REVISION]``. Formats:

- ``qa``: a question column and an answer column (every pair is a positive);
- ``pairs``: query, passage and a label (0/1 or a float in [0, 1]); WikiQA's token files
  (``{split}/a.toks, b.toks, sim.txt, id.txt``) are read as pairs too;
- ``llamaindex``: a JSON object ``{queries, corpus, relevant_docs}``;
- ``beir``: ``corpus``, ``queries`` and ``qrels`` files in one folder (jsonl or tsv), plus a TREC run file
  (``*run*``) when present: the first-stage ranking the source already has;
- ``flag``: FlagEmbedding jsonl ``{query, pos: [...], neg: [...]}`` (any query column with list-valued
  positive/negative columns).

The format is detected from the folder layout and the column names unless ``format`` forces one.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from hubrerank.errors import InputError
from hubrerank.hashing import file_sha256

FORMATS = ("qa", "pairs", "llamaindex", "beir", "flag")
TABLE_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".parquet")
QUERY_NAMES = ("query", "queries", "question", "anchor", "q")
ANSWER_NAMES = ("answer", "positive", "passage", "passages", "document", "a")
LABEL_NAMES = ("label", "labels", "score", "relevance")
QUERY_ID_NAMES = ("query_id", "qid", "query-id")
LIST_POSITIVE_NAMES = ("pos", "positive", "positives")
LIST_NEGATIVE_NAMES = ("neg", "negative", "negatives")
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

    ``judgments`` follow JUDGMENTS_SCHEMA (``split`` is null when the source has no splits); ``corpus``
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


def read_source(
    source: str,
    *,
    format: str | None = None,
    config: str | None = None,
    splits: Iterable[str] | None = None,
    hints: ColumnHints = ColumnHints(),
) -> SourceData:
    """Read ``source`` (a local path or ``REPO[@REVISION]``) and keep only ``splits`` when given."""
    if format is not None and format not in FORMATS:
        raise InputError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    path = Path(source)
    if path.exists():
        if config is not None:
            raise InputError(f"--config {config!r} applies to Hub datasets only; {source} is a local path")
        data = _read_local(path, format, hints)
        data.provenance = {"kind": "local", **_local_provenance(path)}
    elif path.suffix.lower() in TABLE_SUFFIXES or source.startswith((".", "/", "~")):
        raise InputError(f"{source}: no such file or folder; check the path")
    else:
        data = _read_hub(source, format, config, hints)
    if splits:
        data.judgments = _select_splits(data, list(splits))
    return data


def _local_provenance(path: Path) -> dict[str, Any]:
    """The name and sha256 of a file, or of every file in a folder (sha256 over sorted names and digests)."""
    if path.is_file():
        return {"path": path.name, "sha256": file_sha256(path)}
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    lines = [f"{p.relative_to(path).as_posix()}\t{file_sha256(p)}" for p in files]
    return {
        "path": path.resolve().name,
        "sha256": hashlib.sha256("\n".join(lines).encode()).hexdigest(),
        "files": len(files),
    }


def _select_splits(data: SourceData, wanted: list[str]) -> pa.Table:
    names = [SPLIT_ALIASES.get(w.lower(), w) for w in wanted]
    available = sorted({s for s in data.judgments["split"].to_pylist() if s is not None})
    if not available:
        raise InputError(f"{data.name} has no splits; drop --split {','.join(wanted)}")
    missing = [w for w, n in zip(wanted, names, strict=True) if n not in available]
    if missing:
        raise InputError(
            f"{data.name} has no split {missing[0]!r}; it has {', '.join(available)} (pass one to --split)"
        )
    return data.judgments.filter(pc.is_in(data.judgments["split"], pa.array(names)))


# ---------------------------------------------------------------------------------------------------- local


def _read_local(path: Path, format: str | None, hints: ColumnHints) -> SourceData:
    if path.is_dir():
        if _is_wikiqa(path):
            if format not in (None, "pairs"):
                raise InputError(f"{path} holds WikiQA token files (pairs); drop --format {format}")
            return _read_wikiqa(path)
        if format == "beir" or (format is None and _beir_files(path) is not None):
            return _read_beir(path)
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES)
        if not files and (path / "data").is_dir():
            files = sorted(p for p in (path / "data").iterdir() if p.suffix.lower() in TABLE_SUFFIXES)
        if not files:
            raise InputError(
                f"{path} has no csv, tsv, json, jsonl or parquet file, nor a beir or WikiQA layout; "
                "pass a data file or a folder of them"
            )
        return _read_files(path.name, files, format, hints)
    if format == "beir":
        raise InputError(f"--format beir reads a folder (corpus, queries, qrels files); {path} is a file")
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise InputError(
            f"{path}: unsupported file type {path.suffix!r}; use csv, tsv, json, jsonl or parquet"
        )
    return _read_files(path.name, [path], format, hints, split_from_name=False)


def _split_of_file(path: Path) -> str | None:
    tokens = [t.lower() for t in re.split(r"[^A-Za-z]+", path.stem) if t]
    found = {SPLIT_ALIASES[t] for t in tokens if t in SPLIT_ALIASES}
    return found.pop() if len(found) == 1 else None


def _read_files(
    name: str, files: list[Path], format: str | None, hints: ColumnHints, split_from_name: bool = True
) -> SourceData:
    splits = [_split_of_file(f) if split_from_name and len(files) > 1 else None for f in files]
    if any(splits) and not all(splits):
        unsplit = files[splits.index(None)]
        raise InputError(
            f"cannot tell which split {unsplit} belongs to while other files name theirs; "
            "put train, dev or test in its name, or pass a single file"
        )
    parts: list[SourceData] = []
    for file, split in zip(files, splits, strict=True):
        _check_utf8(file)
        loaded = _load_file(file)
        if isinstance(loaded, dict):
            if format not in (None, "llamaindex"):
                raise InputError(f"{file} is a LlamaIndex JSON object; drop --format {format}")
            parts.append(_from_llamaindex(file.name, loaded, split))
        else:
            parts.append(_from_table(file.name, loaded, format, hints, split))
    kinds = sorted({p.format for p in parts})
    if len(kinds) > 1:
        raise InputError(f"{name} mixes formats ({', '.join(kinds)}); pass one file or --format")
    return _concat(name, parts)


def _concat(name: str, parts: list[SourceData]) -> SourceData:
    corpora = [p.corpus for p in parts if p.corpus is not None]
    dropped: dict[str, int] = {}
    for part in parts:
        for key, value in part.dropped.items():
            dropped[key] = dropped.get(key, 0) + value
    return SourceData(
        name=name,
        format=parts[0].format,
        judgments=pa.concat_tables([p.judgments for p in parts]),
        corpus=pa.concat_tables(corpora) if corpora else None,
        dropped=dropped,
    )


def _check_utf8(path: Path) -> None:
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


def _load_file(path: Path) -> pa.Table | dict:
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
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if "Empty CSV file" in message:
            raise InputError(f"{path} is empty; pass a file with a header and rows") from None
        raise InputError(
            f"{path}: cannot parse it ({message}); check that it is valid {suffix[1:]}"
        ) from None
    if table.num_rows == 0:
        raise InputError(f"{path} has no rows; pass a file with a header and rows")
    return table


# ---------------------------------------------------------------------------------------------------- tables


def _find_column(
    columns: list[str], names: tuple[str, ...], given: str | None, what: str, option: str, where: str
) -> str | None:
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


def _from_table(
    name: str, table: pa.Table, format: str | None, hints: ColumnHints, split: str | None
) -> SourceData:
    columns = table.column_names
    query = _find_column(columns, QUERY_NAMES, hints.query, "query", "--query-column", name)
    is_list = {
        c: pa.types.is_list(t) or pa.types.is_large_list(t)
        for c, t in zip(columns, table.schema.types, strict=True)
    }
    list_pos = [c for c in columns if c.lower() in LIST_POSITIVE_NAMES and is_list[c]]
    if format is None:
        if list_pos:
            format = "flag"
        elif _find_column(columns, LABEL_NAMES, hints.label, "label", "--label-column", name):
            format = "pairs"
        else:
            format = "qa"
    if format in ("llamaindex", "beir"):
        raise InputError(
            f"{name} is a table (columns {', '.join(columns)}), not {format}; drop --format {format}"
        )
    if query is None:
        raise InputError(
            f"{name}: no query column (looked for {', '.join(QUERY_NAMES)}); columns are "
            f"{', '.join(columns)}; pass --query-column NAME"
        )
    query_id = _find_column(columns, QUERY_ID_NAMES, None, "query id", "a single id column", name)
    if format == "flag":
        return _from_flag(name, table, query, query_id, is_list, split)
    answer = _find_column(
        [c for c in columns if not is_list[c]], ANSWER_NAMES, hints.answer, "answer", "--answer-column", name
    )
    if answer is None:
        raise InputError(
            f"{name}: no answer/passage column (looked for {', '.join(ANSWER_NAMES)}); columns are "
            f"{', '.join(columns)}; pass --answer-column NAME"
        )
    n = table.num_rows
    if format == "pairs":
        label_name = _find_column(columns, LABEL_NAMES, hints.label, "label", "--label-column", name)
        if label_name is None:
            raise InputError(
                f"{name}: pairs need a label column (looked for {', '.join(LABEL_NAMES)}); columns are "
                f"{', '.join(columns)}; pass --label-column NAME or use --format qa"
            )
        labels = _labels(name, table[label_name], label_name)
    else:
        labels = pa.array([1.0] * n, pa.float64())
    judgments = pa.table(
        {
            "query_id": _text(table[query_id]) if query_id else pa.nulls(n, pa.string()),
            "query": _text(table[query]),
            "doc_id": pa.nulls(n, pa.string()),
            "passage": _text(table[answer]),
            "label": labels,
            "split": pa.array([split] * n, pa.string()),
        },
        schema=JUDGMENTS_SCHEMA,
    )
    return SourceData(name=name, format=format, judgments=judgments)


def _text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A text column as ``string`` (ids and numbers read as numbers become text)."""
    return column if pa.types.is_string(column.type) else column.cast(pa.string())


def _labels(name: str, column: pa.ChunkedArray, label_name: str) -> pa.ChunkedArray:
    """Labels as float64 in [0, 1]; the first null, unparsable or out-of-range row is named."""
    try:
        values = column.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        text = column.cast(pa.string()).to_pylist()
        row = next(i for i, v in enumerate(text) if not _is_number(v))
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


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _from_flag(
    name: str, table: pa.Table, query: str, query_id: str | None, is_list: dict[str, bool], split: str | None
) -> SourceData:
    columns = table.column_names
    pos = [c for c in columns if c.lower() in LIST_POSITIVE_NAMES and is_list[c]]
    neg = [c for c in columns if c.lower() in LIST_NEGATIVE_NAMES and is_list[c]]
    if len(pos) != 1 or len(neg) > 1:
        raise InputError(
            f"{name}: flag needs one list column of positives ({'/'.join(LIST_POSITIVE_NAMES)}) and at most "
            f"one of negatives ({'/'.join(LIST_NEGATIVE_NAMES)}); columns are {', '.join(columns)}"
        )
    n = table.num_rows
    ids = _text(table[query_id]) if query_id else pa.chunked_array([pa.nulls(n, pa.string())])
    queries = _text(table[query])
    pieces = []
    for column, label in [(pos[0], 1.0), *([(neg[0], 0.0)] if neg else [])]:
        values = table[column].combine_chunks()
        parents = pc.list_parent_indices(values)
        flat = pc.list_flatten(values)
        pieces.append(
            pa.table(
                {
                    "query_id": ids.take(parents),
                    "query": queries.take(parents),
                    "doc_id": pa.nulls(len(flat), pa.string()),
                    "passage": flat.cast(pa.string()),
                    "label": pa.array([label] * len(flat), pa.float64()),
                    "split": pa.array([split] * len(flat), pa.string()),
                    "_row": parents.cast(pa.int64()),
                }
            )
        )
    joined = pa.concat_tables(pieces)
    joined = joined.take(pc.sort_indices(joined, [("_row", "ascending")])).drop_columns(["_row"])
    return SourceData(name=name, format="flag", judgments=joined.cast(JUDGMENTS_SCHEMA))


# ------------------------------------------------------------------------------------------------ llamaindex


def _from_llamaindex(name: str, document: dict, split: str | None) -> SourceData:
    missing = [k for k in ("queries", "corpus", "relevant_docs") if not isinstance(document.get(k), dict)]
    if missing:
        raise InputError(
            f"{name}: a LlamaIndex JSON object needs queries, corpus and relevant_docs; "
            f"{missing[0]} is missing"
        )
    queries, corpus, relevant = document["queries"], document["corpus"], document["relevant_docs"]
    rows: dict[str, list] = {k: [] for k in ("query_id", "query", "doc_id", "passage")}
    without_text = 0
    for qid, doc_ids in relevant.items():
        if qid not in queries:
            without_text += len(doc_ids)
            continue
        for doc_id in doc_ids:
            if doc_id not in corpus:
                without_text += 1
                continue
            rows["query_id"].append(str(qid))
            rows["query"].append(queries[qid])
            rows["doc_id"].append(str(doc_id))
            rows["passage"].append(corpus[doc_id])
    n = len(rows["query"])
    if n == 0:
        raise InputError(f"{name}: relevant_docs links no query to a corpus document; check the ids")
    judgments = pa.table(
        {**rows, "label": pa.array([1.0] * n, pa.float64()), "split": pa.array([split] * n, pa.string())},
        schema=JUDGMENTS_SCHEMA,
    )
    corpus_table = pa.table(
        {"doc_id": [str(k) for k in corpus], "passage": [str(v) for v in corpus.values()]},
        schema=CORPUS_SCHEMA,
    )
    return SourceData(
        name=name,
        format="llamaindex",
        judgments=judgments,
        corpus=corpus_table,
        dropped={"judgments_without_text": without_text} if without_text else {},
    )


# ---------------------------------------------------------------------------------------------------- WikiQA


def _is_wikiqa(path: Path) -> bool:
    return any((d / "a.toks").is_file() and (d / "b.toks").is_file() for d in _wikiqa_dirs(path))


def _wikiqa_dirs(path: Path) -> list[Path]:
    roots = [path, *sorted(p for p in path.iterdir() if p.is_dir())]
    return [d for root in roots for d in sorted(root.iterdir()) if d.is_dir() and (d / "sim.txt").is_file()]


def _read_lines(path: Path) -> list[str]:
    _check_utf8(path)
    return path.read_text(encoding="utf-8").split("\n")[:-1] if path.stat().st_size else []


def _read_wikiqa(path: Path) -> SourceData:
    """WikiQA as castorini ships it: per split folder, line-aligned question, sentence, label and id files."""
    parts = []
    for folder in _wikiqa_dirs(path):
        split = SPLIT_ALIASES.get(folder.name.lower())
        if split is None:
            raise InputError(f"{folder}: unknown split folder {folder.name!r}; name it train, dev or test")
        questions, sentences = _read_lines(folder / "a.toks"), _read_lines(folder / "b.toks")
        labels = _read_lines(folder / "sim.txt")
        ids = _read_lines(folder / "id.txt") if (folder / "id.txt").is_file() else [None] * len(questions)
        lengths = {len(questions), len(sentences), len(labels), len(ids)}
        if len(lengths) != 1:
            raise InputError(
                f"{folder}: a.toks, b.toks, sim.txt and id.txt have different line counts {lengths}"
            )
        name = f"{path.name}/{folder.name}/sim.txt"
        label_column = _labels(name, pa.chunked_array([pa.array(labels, pa.string())]), "sim.txt")
        n = len(questions)
        parts.append(
            SourceData(
                name=name,
                format="pairs",
                judgments=pa.table(
                    {
                        "query_id": pa.array(ids, pa.string()),
                        "query": pa.array(questions, pa.string()),
                        "doc_id": pa.nulls(n, pa.string()),
                        "passage": pa.array(sentences, pa.string()),
                        "label": label_column,
                        "split": pa.array([split] * n, pa.string()),
                    },
                    schema=JUDGMENTS_SCHEMA,
                ),
            )
        )
    return _concat(path.name, parts)


# ---------------------------------------------------------------------------------------------------- BEIR


@dataclass(frozen=True)
class _BeirFiles:
    corpus: Path
    queries: Path
    qrels: list[tuple[Path, str | None]]
    run: Path | None


def _beir_files(path: Path) -> _BeirFiles | None:
    def first(stem: str) -> Path | None:
        found = [path / f"{stem}{s}" for s in (".jsonl", ".tsv") if (path / f"{stem}{s}").is_file()]
        return found[0] if found else None

    corpus, queries = first("corpus"), first("queries")
    qrels: list[tuple[Path, str | None]] = []
    if (path / "qrels").is_dir():
        for file in sorted((path / "qrels").glob("*.tsv")):
            split = SPLIT_ALIASES.get(file.stem.lower())
            if split is None:
                raise InputError(f"{file}: unknown qrels split {file.stem!r}; name it train, dev or test")
            qrels.append((file, split))
    elif (path / "qrels.tsv").is_file():
        qrels.append((path / "qrels.tsv", None))
    elif list(path.glob("qrels*.txt")):
        qrels.append((sorted(path.glob("qrels*.txt"))[0], None))
    runs = sorted(p for p in path.iterdir() if p.is_file() and "run" in p.name.lower())
    if corpus is None or queries is None or not qrels:
        return None
    return _BeirFiles(corpus, queries, qrels, runs[0] if runs else None)


def _read_beir(path: Path) -> SourceData:
    files = _beir_files(path)
    if files is None:
        raise InputError(
            f"{path} is not a beir folder: it needs corpus.jsonl|tsv, queries.jsonl|tsv and qrels.tsv "
            "(or qrels/{train,dev,test}.tsv)"
        )
    corpus = _beir_texts(files.corpus, with_title=True)
    queries = _beir_texts(files.queries, with_title=False)
    query_text = dict(zip(queries["_id"].to_pylist(), queries["text"].to_pylist(), strict=True))
    doc_text = dict(zip(corpus["_id"].to_pylist(), corpus["text"].to_pylist(), strict=True))
    rows: dict[str, list] = {k: [] for k in ("query_id", "query", "doc_id", "passage", "label", "split")}
    without_text = 0
    for qrels_file, split in files.qrels:
        for qid, did, grade, line in _read_qrels(qrels_file):
            if grade < 0:
                raise InputError(
                    f"{qrels_file} line {line}: grade {grade} is negative; relevance grades must be >= 0 "
                    "(drop those judgments)"
                )
            if qid not in query_text or did not in doc_text:
                without_text += 1
                continue
            rows["query_id"].append(qid)
            rows["query"].append(query_text[qid])
            rows["doc_id"].append(did)
            rows["passage"].append(doc_text[did])
            rows["label"].append(grade)
            rows["split"].append(split)
    if not rows["query"]:
        raise InputError(f"{path}: no qrels line names a query and a document that have text; check the ids")
    ranking = _read_run(files.run) if files.run else None
    return SourceData(
        name=path.name,
        format="beir",
        judgments=pa.table(rows, schema=JUDGMENTS_SCHEMA),
        corpus=pa.table({"doc_id": corpus["_id"], "passage": corpus["text"]}, schema=CORPUS_SCHEMA),
        ranking=ranking,
        dropped={"judgments_without_text": without_text} if without_text else {},
    )


def _beir_texts(path: Path, with_title: bool) -> pa.Table:
    """``_id, text`` from a BEIR jsonl (title prepended to text when present) or an ``id<TAB>text`` tsv."""
    _check_utf8(path)
    loaded = _load_file(path)
    assert isinstance(loaded, pa.Table)
    columns = loaded.column_names
    if path.suffix == ".tsv":
        if len(columns) < 2:
            raise InputError(
                f"{path}: expected an id column and a text column; columns are {', '.join(columns)}"
            )
        id_col, text_col = columns[0], ("text" if "text" in columns else columns[1])
    else:
        if "_id" not in columns or "text" not in columns:
            raise InputError(f"{path}: beir files need _id and text fields; found {', '.join(columns)}")
        id_col, text_col = "_id", "text"
    text = _text(loaded[text_col])
    if with_title and "title" in columns:
        title = pc.fill_null(_text(loaded["title"]), "")
        joined = pc.binary_join_element_wise(title, pc.fill_null(text, ""), " ")
        text = pc.utf8_trim_whitespace(joined)
    return pa.table({"_id": _text(loaded[id_col]), "text": text})


def _read_qrels(path: Path) -> Iterable[tuple[str, str, float, int]]:
    """(query id, doc id, grade, line) from a BEIR qrels tsv (with header) or a TREC qrels file."""
    _check_utf8(path)
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            parts = line.split()
            if not parts:
                continue
            if line_number == 1 and not _is_number(parts[-1]):
                continue
            if len(parts) == 3:
                qid, did, grade = parts
            elif len(parts) == 4:
                qid, _, did, grade = parts
            else:
                raise InputError(
                    f"{path} line {line_number}: expected 'query-id corpus-id score' or a TREC qrels line"
                )
            if not _is_number(grade):
                raise InputError(f"{path} line {line_number}: grade {grade!r} is not a number")
            yield qid, did, float(grade), line_number


def _read_run(path: Path) -> pa.Table:
    """A TREC run file (``qid Q0 docid rank score tag``) as query_id, doc_id, rank."""
    _check_utf8(path)
    rows: dict[str, list] = {"query_id": [], "doc_id": [], "rank": []}
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 6 or not parts[3].isdigit():
                raise InputError(
                    f"{path} line {line_number}: expected a TREC run line 'qid Q0 docid rank score tag'"
                )
            rows["query_id"].append(parts[0])
            rows["doc_id"].append(parts[2])
            rows["rank"].append(int(parts[3]))
    return pa.table(rows, schema=RANKING_SCHEMA)


# ---------------------------------------------------------------------------------------------------- Hub


def _read_hub(source: str, format: str | None, config: str | None, hints: ColumnHints) -> SourceData:
    """A Hub dataset, pinned to a sha: special layouts are read as folders, tables through datasets."""
    from hubrerank.errors import RefError
    from hubrerank.hub import download, resolve
    from hubrerank.refs import Ref

    try:
        ref = Ref.parse(source, "dataset")
    except RefError:
        raise InputError(
            f"{source} is neither a local file or folder nor a Hub dataset REPO[@REVISION]"
        ) from None
    resolved = resolve(ref)
    folder = download(resolved)
    name = str(resolved)
    license = _card_license(folder / "README.md")
    provenance = {"kind": "hub", **resolved.as_dict(), "config": config}
    if (
        _is_wikiqa(folder)
        or (format in (None, "beir") and _beir_files(folder) is not None)
        or format == "llamaindex"
    ):
        data = _read_local(folder, format, hints)
    else:
        data = _read_hub_tables(folder, name, format, config, hints)
    data.name, data.provenance, data.license = name, provenance, license
    return data


def _read_hub_tables(
    folder: Path, name: str, format: str | None, config: str | None, hints: ColumnHints
) -> SourceData:
    import datasets

    try:
        loaded = datasets.load_dataset(str(folder), name=config)
    except ValueError as error:
        raise InputError(f"{name}: cannot load config {config!r}: {str(error).splitlines()[0]}") from None
    parts = []
    for split_name, dataset in loaded.items():
        split = SPLIT_ALIASES.get(split_name.lower())
        if split is None:
            raise InputError(
                f"{name}: unknown split {split_name!r}; hubrerank knows train, dev/validation and test"
            )
        table = dataset.data.table
        if table.num_rows == 0:
            continue
        parts.append(_from_table(f"{name} split {split_name}", table, format, hints, split))
    if not parts:
        raise InputError(f"{name} has no rows")
    return _concat(name, parts)


def _card_license(readme: Path) -> str | None:
    if not readme.is_file():
        return None
    from huggingface_hub import DatasetCard

    license = DatasetCard.load(readme).data.to_dict().get("license")
    return ", ".join(license) if isinstance(license, list) else license
