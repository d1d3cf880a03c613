"""``llamaindex``: a JSON object ``{queries, corpus, relevant_docs}`` (LlamaIndex's retrieval dataset)."""

from __future__ import annotations

import pyarrow as pa

from hubrerank.data.sources.common import CORPUS_SCHEMA, JUDGMENTS_SCHEMA, SourceData
from hubrerank.errors import InputError


def read_llamaindex(name: str, document: dict, split: str | None) -> SourceData:
    """Every relevant (query, document) as a positive; the whole corpus kept for mining."""
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
