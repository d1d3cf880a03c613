"""The dataset forms of docs/contracts.md, built as Arrow tables from per-query document lists.

Train: ``labeled-pair`` (query, passage, label[, score]), ``n-tuple`` (query, positive, negative_1..n
[, scores]) or ``labeled-list`` (query, documents, labels[, scores]). Eval and test: ``reranking``
(query_id, query, positive, negative, documents[, document_ids][, scores]). Or, for every split, the
``retrieval`` form (BEIR/MTEB's shape): configs ``corpus`` (_id, text: every document of the source),
``queries`` (_id, text) and ``qrels`` (query-id, corpus-id, score), the last two with a split each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

TRAIN_FORMS = ("labeled-pair", "n-tuple", "labeled-list", "pairs", "triplets")
RETRIEVAL_FORM = "retrieval"
OUTPUT_FORMS = (*TRAIN_FORMS, RETRIEVAL_FORM)
RETRIEVAL_CONFIGS = ("corpus", "queries", "qrels")
CORPUS_SPLIT = "corpus"  # the one split of the corpus config


@dataclass
class SplitDocs:
    """One split: its query indices and, per query, documents (positives first) with labels.

    ``scores`` (teacher scores), ``candidates`` (first-stage lists) and ``candidate_scores`` (the teacher's
    or the source's score of each candidate, None where it has none) are aligned with ``queries``.
    """

    queries: list[int]
    docs: list[list[int]]
    labels: list[list[float]]
    threshold: float
    scores: list[np.ndarray] | None = None
    candidates: list[list[int]] | None = None
    candidate_scores: list[list[float | None]] | None = None

    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(query, document, label) of every pair, query by query."""
        sizes = [len(d) for d in self.docs]
        qs = np.repeat(np.asarray(self.queries, dtype=np.int64), sizes)
        ds = np.fromiter((d for docs in self.docs for d in docs), dtype=np.int64, count=sum(sizes))
        ls = np.fromiter((x for labels in self.labels for x in labels), dtype=np.float64, count=sum(sizes))
        return qs, ds, ls

    def split_labels(self, row: int) -> tuple[list[int], list[int]]:
        """Positions (into ``docs[row]``) of the positives and of the negatives."""
        labels = self.labels[row]
        positive = [i for i, x in enumerate(labels) if x >= self.threshold]
        return positive, [i for i, x in enumerate(labels) if x < self.threshold]


def _take(texts: pa.Array, indices: list[int] | np.ndarray) -> pa.Array:
    return texts.take(pa.array(np.asarray(indices, dtype=np.int64), pa.int64()))


def _lists(values: pa.Array, sizes: list[int]) -> pa.Array:
    offsets = np.zeros(len(sizes) + 1, dtype=np.int32)
    np.cumsum(sizes, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def labeled_pair(split: SplitDocs, queries: pa.Array, corpus: pa.Array) -> pa.Table:
    qs, ds, ls = split.flat()
    columns = {"query": _take(queries, qs), "passage": _take(corpus, ds), "label": pa.array(ls, pa.float64())}
    if split.scores is not None:
        columns["score"] = pa.array(np.concatenate(split.scores) if split.scores else [], pa.float64())
    return pa.table(columns)


def labeled_list(split: SplitDocs, queries: pa.Array, corpus: pa.Array) -> pa.Table:
    _qs, ds, ls = split.flat()
    sizes = [len(d) for d in split.docs]
    columns = {
        "query": _take(queries, split.queries),
        "documents": _lists(_take(corpus, ds), sizes),
        "labels": _lists(pa.array(ls, pa.float64()), sizes),
    }
    if split.scores is not None:
        flat = np.concatenate(split.scores) if split.scores else np.empty(0)
        columns["scores"] = _lists(pa.array(flat, pa.float64()), sizes)
    return pa.table(columns)


def tuple_size(split: SplitDocs) -> int:
    """n for n-tuple rows: the fewest negatives any query with a positive and a negative has."""
    counts = [len(neg) for pos, neg in map(split.split_labels, range(len(split.queries))) if pos and neg]
    return min(counts, default=0)


def n_tuple(split: SplitDocs, queries: pa.Array, corpus: pa.Array) -> tuple[pa.Table, int]:
    """One row per positive with the query's first n negatives (none when no query has a negative, as
    with ``--negatives 0``: (query, positive) pairs); also how many queries had none to pair."""
    n = tuple_size(split)
    row_query: list[int] = []
    row_docs: list[list[int]] = []
    row_scores: list[list[float]] = []
    skipped = 0
    for row, q in enumerate(split.queries):
        positive, negative = split.split_labels(row)
        if not positive or len(negative) < n:
            skipped += 1
            continue
        chosen = negative[:n]
        for p in positive:
            row_query.append(q)
            row_docs.append([split.docs[row][i] for i in [p, *chosen]])
            if split.scores is not None:
                row_scores.append([float(split.scores[row][i]) for i in [p, *chosen]])
    docs = np.asarray(row_docs, dtype=np.int64).reshape(len(row_docs), n + 1)
    columns = {"query": _take(queries, row_query), "positive": _take(corpus, docs[:, 0])}
    for i in range(1, n + 1):
        columns[f"negative_{i}"] = _take(corpus, docs[:, i])
    if split.scores is not None:
        columns["scores"] = pa.array(row_scores, pa.list_(pa.float64()))
    return pa.table(columns), skipped


def pairs(split: SplitDocs, queries: pa.Array, corpus: pa.Array) -> tuple[pa.Table, int]:
    """One (query, positive) row per positive, whatever negatives the query has: the anchor-positive pairs
    MultipleNegativesRankingLoss trains on with in-batch negatives; also how many queries had no positive."""
    positives = [split.split_labels(row)[0] for row in range(len(split.queries))]
    rows = [(q, split.docs[row][p]) for row, q in enumerate(split.queries) for p in positives[row]]
    skipped = sum(1 for found in positives if not found)
    return pa.table(
        {"query": _take(queries, [q for q, _ in rows]), "positive": _take(corpus, [d for _, d in rows])}
    ), skipped


def triplets(split: SplitDocs, queries: pa.Array, corpus: pa.Array) -> tuple[pa.Table, int]:
    """One (query, positive, negative_1) row per positive and negative of a query, as sentence-transformers'
    ``mine_hard_negatives(output_format="triplet")`` writes them (TripletLoss, GISTEmbedLoss, MNRL); with
    teacher scores, ``scores`` holds the (positive, negative) pair's. Also how many queries had no
    positive or no negative."""
    row_query: list[int] = []
    row_docs: list[tuple[int, int]] = []
    row_scores: list[list[float]] = []
    skipped = 0
    for row, q in enumerate(split.queries):
        positive, negative = split.split_labels(row)
        if not positive or not negative:
            skipped += 1
        for p in positive:
            for n in negative:
                row_query.append(q)
                row_docs.append((split.docs[row][p], split.docs[row][n]))
                if split.scores is not None:
                    row_scores.append([float(split.scores[row][p]), float(split.scores[row][n])])
    columns = {
        "query": _take(queries, row_query),
        "positive": _take(corpus, [d for d, _ in row_docs]),
        "negative_1": _take(corpus, [d for _, d in row_docs]),
    }
    if split.scores is not None:
        columns["scores"] = pa.array(row_scores, pa.list_(pa.float64()))
    return pa.table(columns), skipped


def reranking(
    split: SplitDocs,
    queries: pa.Array,
    query_ids: list[str],
    corpus: pa.Array,
    doc_ids: list[str | None] | None,
) -> pa.Table:
    """Reranking rows: judged positives and negatives, and the first-stage ``documents`` list."""
    positives: list[int] = []
    negatives: list[int] = []
    pos_sizes: list[int] = []
    neg_sizes: list[int] = []
    for row in range(len(split.queries)):
        pos, neg = split.split_labels(row)
        positives += [split.docs[row][i] for i in pos]
        negatives += [split.docs[row][i] for i in neg]
        pos_sizes.append(len(pos))
        neg_sizes.append(len(neg))
    candidates = split.candidates or [[] for _ in split.queries]
    flat_candidates = [d for docs in candidates for d in docs]
    cand_sizes = [len(docs) for docs in candidates]
    columns = {
        "query_id": pa.array([query_ids[q] for q in split.queries], pa.string()),
        "query": _take(queries, split.queries),
        "positive": _lists(_take(corpus, positives), pos_sizes),
        "negative": _lists(_take(corpus, negatives), neg_sizes),
        "documents": _lists(_take(corpus, flat_candidates), cand_sizes),
    }
    if doc_ids is not None:
        columns["document_ids"] = _lists(
            pa.array([doc_ids[d] or "" for d in flat_candidates], pa.string()), cand_sizes
        )
    if split.candidate_scores is not None:
        flat_scores = [score for scores in split.candidate_scores for score in scores]
        columns["scores"] = _lists(pa.array(flat_scores, pa.float64()), cand_sizes)
    return pa.table(columns)


def retrieval_tables(
    splits: dict[str, SplitDocs],
    queries: pa.Array,
    query_ids: list[str],
    corpus: pa.Array,
    doc_ids: list[str],
) -> dict[str, pa.Table]:
    """The retrieval form, keyed ``config/split``: the whole ``corpus`` once, and per split the queries
    with a positive and their ``qrels`` (score: the judged label as an integer, at least 1)."""
    tables = {
        f"corpus/{CORPUS_SPLIT}": pa.table({"_id": pa.array(doc_ids, pa.string()), "text": corpus}),
    }
    for name, split in splits.items():
        kept: list[int] = []
        qrels: dict[str, list] = {"query-id": [], "corpus-id": [], "score": []}
        for row, q in enumerate(split.queries):
            positive, _ = split.split_labels(row)
            if positive:
                kept.append(q)
            for i in positive:
                qrels["query-id"].append(query_ids[q])
                qrels["corpus-id"].append(doc_ids[split.docs[row][i]])
                qrels["score"].append(max(1, round(split.labels[row][i])))
        tables[f"queries/{name}"] = pa.table(
            {"_id": pa.array([query_ids[q] for q in kept], pa.string()), "text": _take(queries, kept)}
        )
        tables[f"qrels/{name}"] = pa.table(
            {
                "query-id": pa.array(qrels["query-id"], pa.string()),
                "corpus-id": pa.array(qrels["corpus-id"], pa.string()),
                "score": pa.array(qrels["score"], pa.int64()),
            }
        )
    return tables
