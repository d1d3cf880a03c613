"""Metric names of eval_results.json as the card shows them: settings, labels, NanoBEIR keys, numbers."""

from __future__ import annotations

import re
from typing import Any

# metric-name prefixes of eval_results.json (docs/contracts.md, hubrerank.evaluation.metrics), longest first:
# the first stage's order as retrieved, the same with missed positives appended (sentence-transformers'
# base_), the model on what the first stage retrieved, the model with every positive injected
SETTINGS = {
    "first_stage": "realistic_base_",
    "first_stage_appended": "base_",
    "realistic": "realistic_",
    "all_positives": "",
}
FIRST_STAGE = ("realistic_base_", "base_")
CORRELATION = {"pearson": "Pearson", "spearman": "Spearman"}  # against the teacher scores, no setting
# NanoBEIR keys: reranking ``Nano{Subset}_R{rerank_k}_{metric}`` (``NanoBEIR_R100_mean_ndcg@10``),
# retrieval ``Nano{Subset}_{similarity}_{metric}`` (``NanoBEIR_mean_cosine_ndcg@10``)
NANO_KEY = re.compile(
    r"^Nano(?P<subset>\w+?)_(?:R(?P<rerank_k>\d+)|(?P<similarity>cosine|dot|euclidean|manhattan))_"
    r"(?P<metric>.+)$"
)
NANOBEIR_TASKS = ("nanobeir", "nanobeir-retrieval")  # a reranker's and a retriever's NanoBEIR results
MISSING = "–"


def split_setting(metric: str) -> tuple[str, str]:
    """``realistic_ndcg@10`` -> ``("realistic_", "ndcg@10")``: a metric's setting prefix and bare name."""
    prefix = next(p for p in SETTINGS.values() if metric.startswith(p))
    return prefix, metric.removeprefix(prefix)


def metric_label(metric: str, setting: bool = True) -> str:
    """``realistic_ndcg@10`` -> ``NDCG@10 (realistic)``; with ``setting=False`` just ``NDCG@10``."""
    if metric in CORRELATION:
        return CORRELATION[metric] + (" (with the teacher scores)" if setting else "")
    labels = {
        "realistic_base_": " (first stage)",
        "base_": " (first stage, missed positives appended)",
        "realistic_": " (realistic)",
        "": " (all positives)",
    }
    prefix, name = split_setting(metric)
    pretty = {
        "map": "MAP",
        "mrr": "MRR",
        "ndcg": "NDCG",
        "hit_rate": "Hit rate",
        "accuracy": "Accuracy",
        "precision": "Precision",
        "recall": "Recall",
    }
    head, at, k = name.partition("@")
    label = pretty.get(head, head) + at + k
    return label + labels[prefix] if setting else label


def nanobeir_groups(result: dict) -> dict[str, dict[str, float]]:
    """NanoBEIR metrics keyed by subset (``MSMARCO``, ...) or ``mean``, with plain metric names."""
    groups: dict[str, dict[str, float]] = {}
    for key, value in result.get("metrics", {}).items():
        match = NANO_KEY.match(key)
        if match is None:
            continue
        subset, metric = match["subset"], match["metric"]
        if subset == "BEIR":  # reranking: the aggregate follows the depth
            subset, _, metric = metric.partition("_")
        else:  # retrieval: it precedes the similarity
            subset = subset.removeprefix("BEIR_")
        groups.setdefault(subset, {})[metric] = value
    return groups


def nanobeir_key(result: dict, group: str, metric: str) -> str:
    """The sentence-transformers name of a NanoBEIR metric, e.g. ``NanoMSMARCO_R100_ndcg@10`` (reranking)
    or ``NanoMSMARCO_cosine_ndcg@10`` (retrieval, whose result records its ``similarity``)."""
    if result.get("similarity"):
        prefix = "NanoBEIR_mean" if group == "mean" else f"Nano{group}"
        return f"{prefix}_{result['similarity']}_{metric}"
    prefix = (
        f"NanoBEIR_R{result.get('rerank_k')}_mean"
        if group == "mean"
        else f"Nano{group}_R{result.get('rerank_k')}"
    )
    return f"{prefix}_{metric}"


def slug(repo: str) -> str:
    return repo.replace("/", "--")


def fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return MISSING
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.{digits}f}"
    return str(value)
