"""TREC run and qrels files: write reranked lists for trec_eval, read judgments and first-stage runs.

A run file has one line per ranked document, ``qid Q0 docid rank score tag``; qrels have
``qid iteration docid grade`` (TREC) or a BEIR ``query-id, corpus-id, score`` TSV with a header.
:func:`rows_from_trec` turns a BEIR-style folder's texts, its qrels and a first-stage run into reranking
rows the way the evaluator judges them: graded judgments are binarised at ``min_grade``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from hubrerank.errors import InputError
from hubrerank.evaluation.samples import RerankingRow

Ranking = Sequence[tuple[str, float]]


def write_run(path: Path, rankings: Mapping[str, Ranking], tag: str = "hubrerank") -> Path:
    """Write ``{query id: [(doc id, score), ...best first]}`` as a TREC run file (ranks from 1)."""
    tag = "_".join(tag.split()) or "hubrerank"
    lines = [
        f"{'_'.join(qid.split())} Q0 {doc_id} {rank} {score!r} {tag}"
        for qid, ranking in rankings.items()
        for rank, (doc_id, score) in enumerate(ranking, start=1)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def run_path(run_file: Path | None, label: str, count: int) -> Path | None:
    """The run file of ``label`` (a model, a pipeline) among ``count``: ``run_file`` itself, or
    :func:`labelled_run_path`."""
    if run_file is None or count == 1:
        return run_file
    return labelled_run_path(run_file, label)


def labelled_run_path(run_file: Path, label: str) -> Path:
    """``NAME.LABEL.EXT`` beside ``run_file``, ``LABEL`` reduced to word characters, dots and dashes."""
    label = re.sub(r"[^\w.-]+", "_", label).strip("_")
    return run_file.with_name(f"{run_file.stem}.{label}{run_file.suffix}")


def read_run(path: Path) -> dict[str, list[tuple[str, float]]]:
    """A TREC run file as ``{query id: [(doc id, score), ...]}`` in rank order."""
    ranked: dict[str, list[tuple[int, str, float]]] = {}
    for number, line in enumerate(_lines(path), start=1):
        fields = line.split()
        if len(fields) != 6:
            raise InputError(f"{path}:{number}: a run line has 6 fields (qid Q0 docid rank score tag)")
        qid, _, doc_id, rank, score, _ = fields
        ranked.setdefault(qid, []).append((int(rank), doc_id, float(score)))
    return {qid: [(doc_id, score) for _, doc_id, score in sorted(rows)] for qid, rows in ranked.items()}


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """TREC qrels (``qid iter docid grade``) or BEIR qrels TSV: ``{qid: {docid: grade}}``."""
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(_lines(path), start=1):
        fields = line.split()
        if number == 1 and fields[:2] == ["query-id", "corpus-id"]:
            continue
        if len(fields) == 4:
            qid, _, doc_id, grade = fields
        elif len(fields) == 3:
            qid, doc_id, grade = fields
        else:
            raise InputError(f"{path}:{number}: a qrels line is 'qid iter docid grade' or 'qid docid grade'")
        qrels.setdefault(qid, {})[doc_id] = int(float(grade))
    return qrels


def read_texts(path: Path) -> dict[str, str]:
    """A BEIR corpus or queries jsonl (``{"_id", "text"}`` per line) as ``{id: text}``."""
    texts = {}
    for number, line in enumerate(_lines(path), start=1):
        try:
            record = json.loads(line)
            texts[str(record["_id"])] = record["text"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise InputError(f"{path}:{number}: expected a JSON object with '_id' and 'text'") from None
    return texts


def rows_from_trec(
    corpus: Path, queries: Path, qrels: Path, run: Path, *, min_grade: int = 2, depth: int = 100
) -> list[RerankingRow]:
    """Reranking rows for the queries of ``run``: its top ``depth`` as ``documents``, judged texts with
    grade >= ``min_grade`` as ``positive``; judged documents without a text in ``corpus`` cannot be
    ranked, and are counted as ``unlisted_positives`` (the all-positives definition, like trec_eval,
    normalises by them)."""
    texts, questions, judgments = read_texts(corpus), read_texts(queries), read_qrels(qrels)
    rows = []
    for qid, ranking in read_run(run).items():
        if qid not in questions:
            raise InputError(f"{run}: query {qid} is not in {queries}")
        ids = [doc_id for doc_id, _ in ranking[:depth]]
        missing = [doc_id for doc_id in ids if doc_id not in texts]
        if missing:
            raise InputError(f"{run}: document {missing[0]} of query {qid} is not in {corpus}")
        judged = [doc_id for doc_id, grade in judgments.get(qid, {}).items() if grade >= min_grade]
        positive_ids = [doc_id for doc_id in judged if doc_id in texts]
        rows.append(
            RerankingRow(
                query_id=qid,
                query=questions[qid],
                positive=[texts[doc_id] for doc_id in positive_ids],
                documents=[texts[doc_id] for doc_id in ids],
                document_ids=ids,
                unlisted_positives=len(judged) - len(positive_ids),
            )
        )
    return rows


def _lines(path: Path) -> list[str]:
    try:
        return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
