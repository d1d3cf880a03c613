"""Normalise a source into a Collection: unique queries, unique documents, judged pairs as index arrays.

Texts are stripped and NFC-normalised; rows with an empty query or passage and repeated (query, passage)
rows are dropped and counted. A query or a document *is* its normalised text: the first id the source
gives it is kept. Judgments are stored as numpy index arrays (12 bytes a pair), not Python objects.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hubrerank.data.sources import SourceData
from hubrerank.errors import InputError


@dataclass
class Collection:
    """Queries, documents and judgments after normalisation.

    ``pair_query``/``pair_doc``/``pair_label`` are sorted by query (source order within a query); the pairs of
    query ``q`` are ``offsets[q]:offsets[q + 1]``. ``ranking`` maps a query index to the document indices of
    the first stage the source already has, best first. ``pair_score`` holds the scores the source
    gives its pairs (FlagEmbedding's ``pos_scores``/``neg_scores``), aligned with ``pair_doc``, or None.
    """

    queries: pa.Array
    query_ids: list[str]
    query_splits: list[str | None]
    corpus: pa.Array
    doc_ids: list[str | None] | None
    pair_query: np.ndarray
    pair_doc: np.ndarray
    pair_label: np.ndarray
    offsets: np.ndarray
    ranking: dict[int, np.ndarray] | None = None
    dropped: dict[str, int] = field(default_factory=dict)
    pair_score: np.ndarray | None = None

    @property
    def num_queries(self) -> int:
        return len(self.queries)

    def judged(self, query: int) -> tuple[np.ndarray, np.ndarray]:
        """The judged document indices and labels of ``query``, in source order."""
        start, end = self.offsets[query], self.offsets[query + 1]
        return self.pair_doc[start:end], self.pair_label[start:end]

    def source_scores(self, query: int) -> dict[int, float]:
        """The source's score of each judged document of ``query`` (empty when the source has none)."""
        if self.pair_score is None:
            return {}
        start, end = self.offsets[query], self.offsets[query + 1]
        return dict(zip(self.pair_doc[start:end].tolist(), self.pair_score[start:end].tolist(), strict=True))


def clean_text(column: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """NFC, then strip surrounding whitespace; nulls become empty strings."""
    return pc.utf8_trim_whitespace(pc.utf8_normalize(pc.fill_null(column, ""), "NFC"))


def normalize(source: SourceData) -> Collection:
    """Clean texts, drop empty and duplicate rows, and index queries and documents by text."""
    dropped = dict(source.dropped)
    judgments = source.judgments.set_column(1, "query", clean_text(source.judgments["query"]))
    judgments = judgments.set_column(3, "passage", clean_text(judgments["passage"]))
    keep = pc.and_(pc.not_equal(judgments["query"], ""), pc.not_equal(judgments["passage"], ""))
    dropped["empty_rows"] = dropped.get("empty_rows", 0) + judgments.num_rows - pc.sum(keep).as_py()
    judgments = judgments.filter(keep)
    if judgments.num_rows == 0:
        raise InputError(f"{source.name}: every row has an empty query or passage; check the columns")

    corpus_ids = pa.nulls(0, pa.string())
    corpus_texts = pa.array([], pa.string())
    if source.corpus is not None:
        texts = clean_text(source.corpus["passage"])
        keep_docs = pc.not_equal(texts, "")
        corpus_texts = texts.filter(keep_docs).combine_chunks()
        corpus_ids = source.corpus["doc_id"].filter(keep_docs).combine_chunks()
    all_texts = pa.concat_arrays([judgments["passage"].combine_chunks(), corpus_texts])
    all_ids = pa.concat_arrays([judgments["doc_id"].combine_chunks(), corpus_ids])
    doc_index, corpus, first_doc = _encode(all_texts)
    has_doc_ids = pc.any(pc.is_valid(all_ids)).as_py() or False
    doc_ids = all_ids.take(pa.array(first_doc)).to_pylist() if has_doc_ids else None
    pair_doc = doc_index[: judgments.num_rows]

    query_index, queries, first_query = _encode(judgments["query"].combine_chunks())
    given_ids = judgments["query_id"].combine_chunks().take(pa.array(first_query)).to_pylist()
    query_texts = queries.to_pylist()
    query_ids = [qid if qid else _query_id(text) for qid, text in zip(given_ids, query_texts, strict=True)]
    query_splits = _query_splits(source, judgments["split"].combine_chunks(), query_index, query_texts)

    labels = judgments["label"].to_numpy(zero_copy_only=False).astype(np.float64)
    scores = None
    if "score" in judgments.column_names:
        scores = judgments["score"].to_numpy(zero_copy_only=False).astype(np.float64)
    key = query_index.astype(np.int64) * (len(corpus) + 1) + pair_doc
    _, first = np.unique(key, return_index=True)
    first.sort()
    dropped["duplicate_rows"] = dropped.get("duplicate_rows", 0) + len(key) - len(first)
    pair_query, pair_doc, labels = query_index[first], pair_doc[first], labels[first]
    order = np.argsort(pair_query, kind="stable")
    pair_query, pair_doc, labels = pair_query[order], pair_doc[order], labels[order]
    if scores is not None:
        scores = scores[first][order]
    offsets = np.searchsorted(pair_query, np.arange(len(queries) + 1))

    collection = Collection(
        queries=queries,
        query_ids=query_ids,
        query_splits=query_splits,
        corpus=corpus,
        doc_ids=doc_ids,
        pair_query=pair_query,
        pair_doc=pair_doc,
        pair_label=labels,
        offsets=offsets,
        dropped={k: v for k, v in dropped.items() if v},
        pair_score=scores,
    )
    if source.ranking is not None:
        query_of = {qid: q for q, qid in enumerate(given_ids) if qid is not None}
        doc_of = {
            did: int(d) for did, d in zip(all_ids.to_pylist(), doc_index, strict=True) if did is not None
        }
        collection.ranking = _ranking(source.ranking, query_of, doc_of)
    return collection


def _encode(texts: pa.Array) -> tuple[np.ndarray, pa.Array, np.ndarray]:
    """Index of each text in the unique texts (first-appearance order), the unique texts, first positions."""
    encoded = pc.dictionary_encode(texts)
    indices = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    unique = encoded.dictionary
    _, first = np.unique(indices, return_index=True)
    return indices, unique, first


def _query_id(text: str) -> str:
    """A stable id for a query the source gives none: the first 16 hex digits of the sha1 of its text."""
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _query_splits(
    source: SourceData, splits: pa.Array, query_index: np.ndarray, texts: list[str]
) -> list[str | None]:
    """The source split of each query; a query in two source splits is an error (it would leak)."""
    result: list[str | None] = [None] * len(texts)
    values = splits.to_pylist()
    for row, (q, split) in enumerate(zip(query_index.tolist(), values, strict=True)):
        current = result[q]
        if current is None:
            result[q] = split
        elif split is not None and split != current:
            raise InputError(
                f"{source.name}: query {texts[q][:80]!r} (row {row + 1}) is in both the {current} and the "
                f"{split} split; remove it from one of them so that no query leaks between splits"
            )
    return result


def _ranking(run: pa.Table, query_of: dict[str, int], doc_of: dict[str, int]) -> dict[int, np.ndarray]:
    """The source's run, as document indices per query index (runs name documents and queries by id)."""
    run = run.take(pc.sort_indices(run, [("query_id", "ascending"), ("rank", "ascending")]))
    ranked: dict[int, list[int]] = {}
    for qid, did in zip(run["query_id"].to_pylist(), run["doc_id"].to_pylist(), strict=True):
        q, d = query_of.get(qid), doc_of.get(did)
        if q is not None and d is not None:
            ranked.setdefault(q, []).append(d)
    return {q: np.asarray(list(dict.fromkeys(docs)), dtype=np.int64) for q, docs in ranked.items()}
