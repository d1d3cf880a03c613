"""``beir``: ``corpus``, ``queries`` and ``qrels`` files in one folder (jsonl or tsv), plus a TREC run file
(``*run*``) when present: the first-stage ranking the source already has."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from hubrerank.data.sources.common import (
    CORPUS_SCHEMA,
    JUDGMENTS_SCHEMA,
    RANKING_SCHEMA,
    SPLIT_ALIASES,
    SourceData,
    as_text,
    check_utf8,
    is_number,
    load_file,
)
from hubrerank.errors import InputError


@dataclass(frozen=True)
class BeirFiles:
    """The files of a beir folder: corpus, queries, qrels (each with its split, if named) and a run."""

    corpus: Path
    queries: Path
    qrels: list[tuple[Path, str | None]]
    run: Path | None


def beir_files(path: Path) -> BeirFiles | None:
    """The beir files in ``path``, or None when it is not a beir folder."""

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
    return BeirFiles(corpus, queries, qrels, runs[0] if runs else None)


def read_beir(path: Path) -> SourceData:
    """Graded qrels joined with their query and document texts; the run file as the ranking."""
    files = beir_files(path)
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
    check_utf8(path)
    loaded = load_file(path)
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
    text = as_text(loaded[text_col])
    if with_title and "title" in columns:
        title = pc.fill_null(as_text(loaded["title"]), "")
        joined = pc.binary_join_element_wise(title, pc.fill_null(text, ""), " ")
        text = pc.utf8_trim_whitespace(joined)
    return pa.table({"_id": as_text(loaded[id_col]), "text": text})


def _read_qrels(path: Path) -> Iterable[tuple[str, str, float, int]]:
    """(query id, doc id, grade, line) from a BEIR qrels tsv (with header) or a TREC qrels file."""
    check_utf8(path)
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            parts = line.split()
            if not parts:
                continue
            if line_number == 1 and not is_number(parts[-1]):
                continue
            if len(parts) == 3:
                qid, did, grade = parts
            elif len(parts) == 4:
                qid, _, did, grade = parts
            else:
                raise InputError(
                    f"{path} line {line_number}: expected 'query-id corpus-id score' or a TREC qrels line"
                )
            if not is_number(grade):
                raise InputError(f"{path} line {line_number}: grade {grade!r} is not a number")
            yield qid, did, float(grade), line_number


def _read_run(path: Path) -> pa.Table:
    """A TREC run file (``qid Q0 docid rank score tag``) as query_id, doc_id, rank."""
    check_utf8(path)
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
