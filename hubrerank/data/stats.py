"""Statistics of a built dataset, per split: queries, rows, positives and negatives per query, score
distributions. Computed with Arrow kernels, so inspecting millions of rows stays linear."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def distribution(values: Sequence[float] | np.ndarray) -> dict[str, float] | None:
    """count, mean, std, min, quartiles and max, rounded to 4 decimals (None when there are no values)."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return None
    q25, q50, q75 = np.quantile(array, [0.25, 0.5, 0.75])
    summary = {
        "mean": array.mean(),
        "std": array.std(),
        "min": array.min(),
        "25%": q25,
        "50%": q50,
        "75%": q75,
        "max": array.max(),
    }
    return {"count": int(array.size), **{k: round(float(v), 4) for k, v in summary.items()}}


def _per_query(counts: pa.Array | np.ndarray) -> dict[str, float]:
    array = np.asarray(counts, dtype=np.float64)
    if array.size == 0:
        return {"mean": 0.0, "min": 0, "max": 0}
    return {"mean": round(float(array.mean()), 3), "min": int(array.min()), "max": int(array.max())}


def detect_form(table: pa.Table) -> str | None:
    """Which form of docs/contracts.md a table's columns make, or None."""
    columns = set(table.column_names)
    if {"_id", "text"} <= columns or {"query-id", "corpus-id", "score"} <= columns:
        return "retrieval"  # a corpus, queries or qrels table
    if {"query_id", "query", "positive", "negative", "documents"} <= columns:
        return "reranking"
    if {"query", "passage", "label"} <= columns:
        return "labeled-pair"
    if {"query", "positive"} <= columns:  # n-tuples, or (query, positive) pairs for MNRL (--negatives 0)
        return "n-tuple"
    if {"query", "documents", "labels"} <= columns:
        return "labeled-list"
    return None


def table_statistics(table: pa.Table, threshold: float = 0.5) -> dict[str, Any]:
    """Rows, queries and per-query counts of a table in any form (labels >= threshold are positive)."""
    form = detect_form(table)
    stats: dict[str, Any] = {"form": form, "rows": table.num_rows}
    if form is None or table.num_rows == 0:
        return stats
    if form == "retrieval":
        if "_id" not in table.column_names:  # qrels: the queries they judge
            stats["queries"] = pc.count_distinct(table["query-id"]).as_py()
        return stats
    if form == "labeled-pair":
        positive = pc.cast(pc.greater_equal(table["label"], threshold), pa.int64())
        grouped = (
            pa.table({"query": table["query"], "positive": positive, "one": pa.repeat(1, table.num_rows)})
            .group_by("query")
            .aggregate([("positive", "sum"), ("one", "sum")])
        )
        pos = grouped["positive_sum"].to_numpy()
        stats.update(
            queries=grouped.num_rows,
            pairs=table.num_rows,
            positives_per_query=_per_query(pos),
            negatives_per_query=_per_query(grouped["one_sum"].to_numpy() - pos),
        )
    elif form == "n-tuple":
        negatives = sum(1 for c in table.column_names if c.startswith("negative_"))
        stats.update(
            queries=pc.count_distinct(table["query"]).as_py(),
            pairs=table.num_rows * (1 + negatives),
            negatives_per_row=negatives,
        )
    elif form == "labeled-list":
        sizes = pc.list_value_length(table["labels"]).to_numpy(zero_copy_only=False)
        flat = pc.list_flatten(table["labels"])
        parents = pc.list_parent_indices(table["labels"]).to_numpy(zero_copy_only=False)
        positive = np.bincount(
            parents,
            weights=pc.greater_equal(flat, threshold).to_numpy(zero_copy_only=False),
            minlength=len(sizes),
        )
        stats.update(
            queries=pc.count_distinct(table["query"]).as_py(),
            pairs=int(sizes.sum()),
            positives_per_query=_per_query(positive),
            negatives_per_query=_per_query(sizes - positive),
        )
    else:
        pos = pc.list_value_length(table["positive"]).to_numpy(zero_copy_only=False)
        neg = pc.list_value_length(table["negative"]).to_numpy(zero_copy_only=False)
        docs = pc.list_value_length(table["documents"]).to_numpy(zero_copy_only=False)
        stats.update(
            queries=table.num_rows,
            pairs=int(pos.sum() + neg.sum()),
            positives_per_query=_per_query(pos),
            negatives_per_query=_per_query(neg),
            documents_per_query=_per_query(docs),
        )
        if docs.sum():
            stats["queries_with_a_positive_in_documents"] = _positive_recall(table)
    return stats


def _positive_recall(table: pa.Table) -> float:
    """Share of queries whose first-stage ``documents`` contain at least one of their positives."""
    hits = 0
    for positives, documents in zip(
        table["positive"].to_pylist(), table["documents"].to_pylist(), strict=True
    ):
        hits += bool(set(positives) & set(documents))
    return round(hits / table.num_rows, 4)
