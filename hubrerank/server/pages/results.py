"""A model page's evaluation results and its last verification and reproduction reports.

Results come from two places, as on huggingface.co: ``.eval_results/*.yaml`` (each entry with the
badge the leaderboards give it: verified, community or self-reported, and a link to the benchmark's
leaderboard where the dataset is a benchmark the visitor may read) and the card's ``model-index``
(always self-reported). Reports are the ``reproductions/*.json`` files ``hubrerank verify
--push-report`` and ``reproduce --push-report`` commit; anyone may commit anything there, so every
field is read for its type and a file that is not such a report is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hubrerank.server.eval_files import EVAL_YAML
from hubrerank.server.leaderboards import HeldEntry, Leaderboards, Origin
from hubrerank.server.objects import PR_REF_RE, Commit, Repo, RepoState, StoreError
from hubrerank.server.storage import Store

REPORTS_FOLDER = "reproductions"
MAX_REPORT_BYTES = 1024 * 1024
MAX_ROWS = 200  # rows shown per report, results per model-index


@dataclass(frozen=True)
class ResultRow:
    """One result: what was measured on which benchmark task, its value and badge, and where it came from."""

    dataset_id: str
    task_id: str
    value: float
    badge: str
    leaderboard: str | None  # the benchmark's leaderboard page, where the visitor may read it
    file: str
    date: str | None = None
    source_url: str | None = None
    source_name: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class IndexResult:
    """One metric of the card's ``model-index``."""

    model: str
    dataset: str
    split: str
    metric: str
    value: str


@dataclass(frozen=True)
class CheckRow:
    """A claimed metric next to its re-measured value."""

    metric: str
    claimed: float | None
    measured: float | None
    delta: float | None
    tolerance: float | None
    ok: bool


@dataclass(frozen=True)
class VersionRow:
    """A library as the original run recorded it and as the reproduction ran it."""

    name: str
    claimed: str
    measured: str
    differs: bool


@dataclass(frozen=True)
class ReportView:
    """The parts of a verification or reproduction report the page shows."""

    path: str
    kind: str
    timestamp: str
    verdict: str
    tolerance: float | None
    rows: list[CheckRow]
    versions: list[VersionRow]
    hubrerank_version: str
    reason: str | None
    likely_causes: list[str]
    weights_identical: bool | None


def _number(value: Any) -> float | None:
    """A JSON number as a float (None for anything else, booleans included)."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _text(value: Any) -> str:
    """A JSON string ("" for anything else)."""
    return value if isinstance(value, str) else ""


def eval_results(
    boards: Leaderboards,
    state: RepoState,
    revision: str,
    commit: Commit,
    leaderboard_of: Callable[[str], str | None],
) -> list[ResultRow]:
    """The ``.eval_results`` entries of ``commit`` with their badges (read at ``revision``)."""
    try:
        results = boards.results(state.repo, commit.id)
    except StoreError:
        return []
    pull = PR_REF_RE.match(revision)
    origin = Origin(revision, int(pull.group(1)) if pull else None)
    rows = []
    for file in results.files:
        for entry in file.entries:
            held = HeldEntry(
                state.repo, state.private, origin, file, entry, results.declares_base_model, commit.id
            )
            source = entry.source
            rows.append(
                ResultRow(
                    entry.dataset_id,
                    entry.task_id,
                    entry.value,
                    boards.badge(held),
                    leaderboard_of(entry.dataset_id),
                    file.path,
                    entry.date or file.written_at,
                    source.url if source else None,
                    (source.name or source.user or source.org) if source else None,
                    entry.notes,
                )
            )
    return rows


def model_index(card: dict[str, Any]) -> list[IndexResult]:
    """The metrics of the card's ``model-index`` (self-reported); malformed parts are skipped."""
    found: list[IndexResult] = []
    models = card.get("model-index")
    for model in models if isinstance(models, list) else []:
        if not isinstance(model, dict) or not isinstance(model.get("results"), list):
            continue
        for result in model["results"]:
            dataset = result.get("dataset") if isinstance(result, dict) else None
            metrics = result.get("metrics") if isinstance(result, dict) else None
            if not isinstance(dataset, dict) or not isinstance(metrics, list):
                continue
            for metric in metrics:
                if isinstance(metric, dict) and len(found) < MAX_ROWS:
                    name = _text(metric.get("name")) or _text(metric.get("type"))
                    found.append(
                        IndexResult(
                            _text(model.get("name")),
                            _text(dataset.get("name")) or _text(dataset.get("type")),
                            _text(dataset.get("split")),
                            name,
                            str(metric.get("value", "")),
                        )
                    )
    return found


def _report(path: str, data: Any) -> ReportView | None:
    """A report file's JSON as the page shows it; None if it is not a verify or reproduce report."""
    if not isinstance(data, dict) or _text(data.get("kind")) not in ("verify", "reproduce"):
        return None
    rows = [
        CheckRow(
            _text(row.get("metric")),
            _number(row.get("claimed")),
            _number(row.get("measured")),
            _number(row.get("delta")),
            _number(row.get("tolerance")),
            row.get("ok") is True,
        )
        for row in (data.get("rows") if isinstance(data.get("rows"), list) else [])[:MAX_ROWS]
        if isinstance(row, dict)
    ]
    versions = [
        VersionRow(
            _text(v.get("name")), _text(v.get("claimed")), _text(v.get("measured")), v.get("differs") is True
        )
        for v in (data.get("library_versions") if isinstance(data.get("library_versions"), list) else [])
        if isinstance(v, dict)
    ]
    weights = data.get("weights")
    identical = weights.get("identical") if isinstance(weights, dict) else None
    causes = data.get("likely_causes")
    return ReportView(
        path,
        data["kind"],
        _text(data.get("timestamp")),
        _text(data.get("verdict")) or "?",
        _number(data.get("tolerance")),
        rows,
        versions[:MAX_ROWS],
        _text(data.get("hubrerank_version")),
        _text(data.get("reason")) or None,
        [c for c in causes if isinstance(c, str)][:MAX_ROWS] if isinstance(causes, list) else [],
        identical if isinstance(identical, bool) else None,
    )


def last_reports(store: Store, commit: Commit) -> list[ReportView]:
    """The newest verification report and the newest reproduction report of ``commit``, if any."""
    paths = sorted(
        (p for p in commit.tree if p.startswith(f"{REPORTS_FOLDER}/") and p.endswith(".json")), reverse=True
    )
    newest: dict[str, ReportView] = {}
    for path in paths:
        entry = commit.tree[path]
        if entry.size > MAX_REPORT_BYTES:
            continue
        try:
            report = _report(path, json.loads(store.read_blob(entry.sha256)))
        except (ValueError, RecursionError):
            continue
        if report is not None and report.kind not in newest:
            newest[report.kind] = report
        if len(newest) == 2:
            break
    return sorted(newest.values(), key=lambda report: report.kind, reverse=True)  # verify, then reproduce


def benchmark_page(store: Store, dataset_id: str, may_read: Callable[[RepoState], bool]) -> str | None:
    """The leaderboard page of dataset ``dataset_id`` if it is a benchmark the visitor may read."""
    ns, _, name = dataset_id.partition("/")
    try:
        state = store.state(Repo.parse("dataset", ns, name))
        if not may_read(state) or EVAL_YAML not in store.resolve(state, "main").tree:
            return None
    except StoreError:
        return None
    return f"/{state.repo.url_path}/leaderboard"
