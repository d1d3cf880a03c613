"""A benchmark's leaderboard as the Hub serves it, one row per model@sha and task, and its tables (a
reranker measured behind several first stages has a row for each, its notes naming the first stage).

The rows come from the Hub's leaderboard route (huggingface_hub's ``get_dataset_leaderboard``, every
model, not only base models). The embedded Hub adds each entry's provenance (the commit that holds it,
the dataset revision, the metric definition of the benchmark task, the badge, ``remeasured``); from
huggingface.co those fields are missing and the badge follows its ``verified`` and ``pullRequest``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from hubrerank.errors import InputError
from hubrerank.signatures import stated_pipeline

_SHA_RE = re.compile(r"@[0-9a-f]{40}\b")


@dataclass(frozen=True)
class LeaderboardRow:
    """One model's entry on one task of a benchmark."""

    task_id: str | None
    rank: int
    model_id: str
    sha: str | None
    value: float
    badge: str
    metric: str | None
    metric_definition: str | None
    at_k: int | None
    remeasured: bool
    dataset_revision: str | None
    date: str | None
    source_url: str | None
    evaluation_framework: str | None
    notes: str | None
    filename: str
    pull_request: int | None
    pipeline: str | None  # the first stage a reranker was measured behind (``pipeline --open-pr``)


def row_of(entry: Any) -> LeaderboardRow:
    """A row from one ``DatasetLeaderboardEntry`` (the embedded Hub's extra fields are its attributes)."""
    extra = vars(entry)
    metric = extra.get("metric") or {}
    badge = extra.get("badge") or (
        "verified" if entry.verified else "community" if entry.pull_request else "self-reported"
    )
    return LeaderboardRow(
        task_id=extra.get("taskId"),
        rank=int(entry.rank),
        model_id=entry.model_id,
        sha=extra.get("sha"),
        value=float(entry.value),
        badge=badge,
        metric=metric.get("name"),
        metric_definition=metric.get("definition"),
        at_k=metric.get("atK"),
        remeasured=bool(extra.get("remeasured", False)),
        dataset_revision=extra.get("datasetRevision"),
        date=extra.get("date"),
        source_url=(entry.source or {}).get("url"),
        evaluation_framework=extra.get("evaluationFramework"),
        notes=entry.notes,
        filename=entry.filename,
        pull_request=entry.pull_request,
        pipeline=stated_pipeline(entry.notes),
    )


def leaderboard(dataset: str) -> list[LeaderboardRow]:
    """The leaderboard of benchmark ``dataset``: InputError if the dataset is not a benchmark."""
    from hubrerank.benchmark.spec import read_benchmark
    from hubrerank.hub import dataset_leaderboard

    if read_benchmark(dataset) is None:
        raise InputError(
            f"dataset {dataset} is not a benchmark (its main branch has no eval.yaml); "
            f"register it with: hubrerank benchmark create {dataset} --task test"
        )
    rows, seen = [], set()
    for row in map(row_of, dataset_leaderboard(dataset)):
        key = (row.task_id, row.model_id, row.sha, row.pipeline)
        if key not in seen:  # one row per model@sha (and first stage) and task: the best-ranked entry
            seen.add(key)
            rows.append(row)
    return rows


_COLUMNS = ("task", "rank", "model@sha", "value", "badge", "metric (definition)", "re-measured", "date")


def _cells(row: LeaderboardRow) -> tuple[str, ...]:
    metric = row.metric or "–"
    if row.metric_definition:
        metric += f" ({row.metric_definition})"
    return (
        row.task_id or "–",
        str(row.rank),
        (f"{row.model_id}@{row.sha[:12]}" if row.sha else row.model_id)
        + (f" after {_SHA_RE.sub(lambda m: m[0][:13], row.pipeline)}" if row.pipeline else ""),
        f"{row.value:.4f}",
        row.badge,
        metric,
        "yes" if row.remeasured else "no",
        (row.date or "–")[:10],
    )


def format_table(rows: list[LeaderboardRow]) -> str:
    """A plain-text table, columns aligned."""
    lines = [_COLUMNS, *map(_cells, rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(_COLUMNS))]
    aligned = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines]
    return "\n".join(line.rstrip() for line in aligned)


def format_markdown(rows: list[LeaderboardRow]) -> str:
    """A Markdown table (``|`` in cells escaped)."""
    lines = [
        "| " + " | ".join(_COLUMNS) + " |",
        "|" + "|".join("---" for _ in _COLUMNS) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in _cells(row)) + " |")
    return "\n".join(lines)


def format_json(rows: list[LeaderboardRow]) -> str:
    return json.dumps([asdict(row) for row in rows], indent=2)
