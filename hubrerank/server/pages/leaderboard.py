"""A benchmark's leaderboard page: one table per task, sortable by links, its metric and badges, a chart.

The entries are the leaderboard route's (``server/leaderboards.py``: every model repo the visitor may
read, main branches and open pull requests, each with its badge), fine-tuned models included. Sorting
is ``?sort=rank|model|value|badge|date&order=asc|desc``, plain links, no script. The chart is the
grouped bar chart ``hubrerank eval --plot`` draws (tasks on the x axis, one coloured bar per model,
the value on each bar), drawn here as inline SVG from numbers, never from text a stranger wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.responses import Response

from hubrerank.server.eval_files import Benchmark, BenchmarkTask
from hubrerank.server.leaderboards import HeldEntry, ranked
from hubrerank.server.pages.repo import header
from hubrerank.signatures import stated_pipeline

if TYPE_CHECKING:
    from hubrerank.server.call import Call
    from hubrerank.server.pages.routes import Pages

DEFINITIONS = {  # docs/metrics.md
    "all-positives": "every known positive counts, listed by the first stage or not "
    "(sentence-transformers >= 6.3; trec_eval over the full qrels)",
    "listed-positives": "only the positives in the ranked list count (sentence-transformers <= 6.2)",
}
BADGES = {
    "verified": "re-measured, signed by a key registered on this Hub for the model's exact files",
    "community": "proposed in an open pull request; verified or self-reported once merged",
    "self-reported": "the model owner's own claim",
}
SORTS = ("rank", "model", "value", "badge", "date")
MAX_CHART_MODELS = 8  # the chart's colours; further models are in the tables only
PLOT_TOP, PLOT_BOTTOM, PLOT_LEFT, LEGEND_TOP = 30, 250, 50, 290
MIN_CHART_WIDTH = 640
GROUP_WIDTH = 200


@dataclass(frozen=True)
class Row:
    """One entry as the table shows it."""

    rank: int
    model: str
    model_url: str
    sha: str
    value: float
    badge: str
    date: str
    ref: str
    pull_request: int | None
    private: bool
    verification: str | None
    pipeline: str | None  # the first stage a reranker was measured behind, as the entry's notes state it

    @property
    def series(self) -> str:
        """The chart's series this row belongs to: the model (behind its first stage), or its pull request."""
        name = self.model if self.pipeline is None else f"{self.model} after {self.pipeline}"
        return name if self.pull_request is None else f"{name} (pull request #{self.pull_request})"


@dataclass(frozen=True)
class TaskTable:
    """One task's table: the task, what its metric definition means, the rows as sorted."""

    task: BenchmarkTask
    definition: str | None
    rows: list[Row]


@dataclass(frozen=True)
class Bar:
    """One bar of the chart, in SVG user units, with its series (colour) and value label."""

    x: float
    y: float
    width: float
    height: float
    series: int
    label: str


@dataclass(frozen=True)
class Chart:
    """A grouped bar chart: bars, group labels under them, the legend, the y-axis ticks."""

    width: int
    height: int
    bars: list[Bar]
    groups: list[tuple[float, str]]
    legend: list[tuple[int, str]]
    ticks: list[tuple[float, str]]


def chart(tables: list[TaskTable]) -> Chart | None:
    """The scores of the first ``MAX_CHART_MODELS`` series (a model's main branch, or one of its pull
    requests; by best rank) as grouped bars per task, the legend one series a line below."""
    series_names: list[str] = []
    for table in tables:
        for row in sorted(table.rows, key=lambda r: r.rank):
            if row.series not in series_names:
                series_names.append(row.series)
    series_names = series_names[:MAX_CHART_MODELS]
    if not series_names:
        return None
    top = max([1.0, *(row.value for table in tables for row in table.rows)])
    scale = (PLOT_BOTTOM - PLOT_TOP) / top
    width = max(MIN_CHART_WIDTH, PLOT_LEFT + GROUP_WIDTH * len(tables) + 20)
    bar_width = (GROUP_WIDTH * 0.8) / len(series_names)
    bars, groups = [], []
    for number, table in enumerate(tables):
        left = PLOT_LEFT + number * GROUP_WIDTH + GROUP_WIDTH * 0.1
        values = {row.series: row.value for row in table.rows}
        for series, name in enumerate(series_names):
            if name in values:
                height = max(values[name], 0.0) * scale
                x = left + series * bar_width
                label = f"{values[name]:.4f}"
                bars.append(Bar(x, PLOT_BOTTOM - height, bar_width * 0.9, height, series, label))
        groups.append((PLOT_LEFT + number * GROUP_WIDTH + GROUP_WIDTH / 2, table.task.id))
    ticks = [(PLOT_BOTTOM - top * i / 4 * scale, f"{top * i / 4:.2f}") for i in range(5)]
    legend = list(enumerate(series_names))
    return Chart(width, LEGEND_TOP + 18 * len(series_names), bars, groups, legend, ticks)


def _row(rank: int, held: HeldEntry, badge: str, reason: str | None) -> Row:
    """A held entry as the table shows it."""
    entry = held.entry
    return Row(
        rank,
        held.repo.id,
        f"/{held.repo.url_path}",
        held.file.written_by,
        entry.value,
        badge,
        entry.date or held.file.written_at,
        held.origin.ref,
        held.origin.pull_request,
        held.private,
        reason,
        stated_pipeline(entry.notes),
    )


def tables(
    pages: Pages, benchmark: Benchmark, held: list[HeldEntry], sort: str, order: str
) -> list[TaskTable]:
    """One table per task of ``eval.yaml``, rows sorted as asked (ties by rank)."""
    boards = pages.hub.leaderboards
    by_task: dict[str, list[Row]] = {task.id: [] for task in benchmark.tasks}
    for rank, task, entry in ranked(benchmark, held):
        by_task[task.id].append(_row(rank, entry, boards.badge(entry), pages.hub.verification(entry)))
    keys = {
        "rank": lambda r: r.rank,
        "model": lambda r: (r.model.lower(), r.rank),
        "value": lambda r: (r.value, -r.rank),
        "badge": lambda r: (("verified", "community", "self-reported").index(r.badge), r.rank),
        "date": lambda r: (r.date, r.rank),
    }
    reverse = order == "desc"
    return [
        TaskTable(
            task,
            DEFINITIONS.get(task.metric_definition or ""),
            sorted(by_task[task.id], key=keys[sort], reverse=reverse),
        )
        for task in benchmark.tasks
    ]


def leaderboard(pages: Pages, call: Call, repo_type: str) -> Response:
    """``/datasets/NS/NAME/leaderboard``: a 404 for a dataset without ``eval.yaml``, as the API's."""
    state = pages.hub.readable(call, repo_type)
    benchmark = pages.hub.leaderboards.benchmark(state)
    held = pages.hub.leaderboards.entries(state.repo, benchmark, call.user)
    query = call.request.query_params
    sort = query.get("sort") if query.get("sort") in SORTS else "rank"
    default_order = "desc" if sort in ("value", "date") else "asc"
    order = query.get("order") if query.get("order") in ("asc", "desc") else default_order
    shown = tables(pages, benchmark, held, sort, order)
    commit = pages.store.resolve(state, "main")
    return pages.render(
        call,
        "leaderboard.html",
        top=header(pages, state, "main", commit, "leaderboard"),
        benchmark=benchmark,
        tables=shown,
        chart=chart(shown),
        badges=BADGES,
        sort=sort,
        order=order,
    )
