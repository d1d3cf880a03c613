"""Rank documents for one query, or score a batch of (query, passage) pairs, with a cross-encoder: what
``hubrerank rerank`` prints."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hubrerank.errors import InputError
from hubrerank.evaluation.fusion import rrf_order
from hubrerank.evaluation.scoring import Scorer
from hubrerank.runtime import FLOAT32, Variant


@dataclass(frozen=True)
class RankedDocument:
    """One document in the ranking: its rank (from 1), its index in the input, its score and text."""

    rank: int
    index: int
    score: float
    text: str


def rank_documents(
    model: str,
    query: str,
    documents: Sequence[str],
    *,
    top_k: int | None = None,
    raw: bool = False,
    max_length: int | None = None,
    fuse_first_stage: bool = False,
    precision: Variant = FLOAT32,
) -> list[RankedDocument]:
    """``documents`` ranked best first for ``query`` by the cross-encoder ``model`` (``MODEL[@REV]`` or a
    folder), the best ``top_k`` only when given.

    Scores are sigmoid-normalised logits, as FlagReranker.compute_score(normalize=True) and LlamaIndex's
    SentenceTransformerRerank give them; ``raw`` keeps the logits. With ``fuse_first_stage`` the input
    order is a first stage's ranking, best first, and the order is the reciprocal rank fusion (k=60)
    of both; the scores stay the model's. ``precision``: the variant the model runs as.
    """
    from hubrerank.hub import resolve_model

    _, path = resolve_model(model, precision.files)
    scorer = Scorer(path, max_length=max_length, precision=precision.check())
    scores = scorer.scores([(query, document) for document in documents], "raw" if raw else "sigmoid")
    if fuse_first_stage:
        order = [int(i) for i in rrf_order(scores, np.arange(1, len(documents) + 1))][:top_k]
    else:
        order = sorted(range(len(documents)), key=lambda i: -float(scores[i]))[:top_k]
    return [RankedDocument(rank, i, float(scores[i]), documents[i]) for rank, i in enumerate(order, start=1)]


def score_pairs(
    model: str,
    pairs: Sequence[tuple[str, str]],
    *,
    raw: bool = False,
    max_length: int | None = None,
    precision: Variant = FLOAT32,
) -> np.ndarray:
    """Scores of (query, passage) pairs with different queries, in input order, by the cross-encoder
    ``model`` (``MODEL[@REV]`` or a folder): ``FlagReranker.compute_score(pairs, normalize=True)``, sigmoid
    of the logits; ``raw`` keeps the logits. ``precision``: the variant the model runs as."""
    from hubrerank.hub import resolve_model

    _, path = resolve_model(model, precision.files)
    return Scorer(path, max_length=max_length, precision=precision.check()).scores(
        list(pairs), "raw" if raw else "sigmoid"
    )


def read_pairs(path: Path) -> list[tuple[str, str]]:
    """(query, passage) pairs from a jsonl file (``{"query", "passage"}`` objects or ``[query, passage]``
    arrays, one a line) or a tsv file (two tab-separated columns; a ``query<TAB>passage`` header is
    skipped). Blank lines are skipped; anything else wrong is an InputError naming the file and line."""
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".json", ".tsv"):
        raise InputError(f"{path}: unsupported pairs file; give a .jsonl or a .tsv file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text ({error.reason}); re-save it as UTF-8") from None
    read_line = _json_pair if suffix != ".tsv" else _tsv_pair
    pairs = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or (suffix == ".tsv" and number == 1 and line.lower() == "query\tpassage"):
            continue
        try:
            pairs.append(read_line(line))
        except ValueError as error:
            raise InputError(f"{path}:{number}: {error}") from None
    if not pairs:
        raise InputError(f"{path} has no pairs; write one (query, passage) pair a line")
    return pairs


def _json_pair(line: str) -> tuple[str, str]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg}); write one JSON object or array a line") from None
    if isinstance(value, dict):
        missing = [key for key in ("query", "passage") if key not in value]
        if missing:
            raise ValueError(f"the object has no {' and no '.join(map(repr, missing))}; write {_JSON_FORMS}")
        value = [value["query"], value["passage"]]
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(text, str) for text in value)):
        raise ValueError(f"not a (query, passage) pair of strings; write {_JSON_FORMS}")
    return _pair(value[0], value[1])


_JSON_FORMS = '{"query": ..., "passage": ...} or ["query", "passage"]'


def _tsv_pair(line: str) -> tuple[str, str]:
    columns = line.split("\t")
    if len(columns) != 2:
        raise ValueError(f"{len(columns)} tab-separated column(s); write query<TAB>passage")
    return _pair(columns[0], columns[1])


def _pair(query: str, passage: str) -> tuple[str, str]:
    if not query.strip() or not passage.strip():
        raise ValueError(f"empty {'query' if not query.strip() else 'passage'}; every pair needs both texts")
    return query, passage
