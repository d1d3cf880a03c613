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
NANO_KEY = re.compile(r"^Nano(?P<subset>\w+?)_R(?P<rerank_k>\d+)_(?P<metric>.+)$")
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
        if subset == "BEIR":
            aggregate, _, metric = metric.partition("_")
            subset = "mean" if aggregate == "mean" else aggregate
        groups.setdefault(subset, {})[metric] = value
    return groups


def nanobeir_key(result: dict, group: str, metric: str) -> str:
    """The sentence-transformers name of a NanoBEIR metric, e.g. ``NanoMSMARCO_R100_ndcg@10``."""
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
