"""A model's or dataset's page: the card, the results and reports, branches and tags.

``/ORG/NAME`` and ``/datasets/ORG/NAME`` show the main branch; ``?revision=`` (a branch, tag, commit or
``refs/pr/N``) shows another, as the branch and tag links on the page do. Every repo page shares a
header (:class:`RepoHeader`): the id, its privacy, the revision shown and the tabs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.responses import Response

from hubrerank.server.discussions import Discussions
from hubrerank.server.eval_files import EVAL_YAML, InvalidEvalFile
from hubrerank.server.objects import Commit, RepoState
from hubrerank.server.pages.card import read_card
from hubrerank.server.pages.render import Where
from hubrerank.server.pages.results import benchmark_page, eval_results, last_reports, model_index

if TYPE_CHECKING:
    from hubrerank.server.call import Call
    from hubrerank.server.pages.routes import Pages

MAX_REVISION = 256  # characters of ``?revision=``


@dataclass(frozen=True)
class RepoHeader:
    """What every page of a repo shows on top: which repo, at which revision, and its tabs."""

    state: RepoState
    revision: str
    commit: Commit
    tab: str
    discussions: int
    benchmark: bool
    viewer: bool

    @property
    def url(self) -> str:
        """The repo's page: ``/ns/name`` or ``/datasets/ns/name``."""
        return f"/{self.state.repo.url_path}"


def header(pages: Pages, state: RepoState, revision: str, commit: Commit, tab: str) -> RepoHeader:
    """The header of ``state``'s pages, showing ``commit`` (``revision`` as the visitor named it)."""
    main = pages.store.resolve(state, "main") if "main" in state.branches else commit
    is_dataset = state.repo.type == "dataset"
    return RepoHeader(
        state,
        revision,
        commit,
        tab,
        len(Discussions(pages.store).numbers(state)),
        is_dataset and EVAL_YAML in main.tree,
        is_dataset and any(path.endswith(".parquet") for path in commit.tree),
    )


def repo_page(pages: Pages, call: Call, repo_type: str) -> Response:
    """The card with its metadata panel, the model's results and reports, branches and tags."""
    state = pages.hub.readable(call, repo_type)
    revision = call.request.query_params.get("revision", "main")[:MAX_REVISION] or "main"
    commit = pages.store.resolve(state, revision)
    card = read_card(pages.store, commit, Where(state.repo.url_path, revision))
    top = header(pages, state, revision, commit, "card")
    results, index, reports = [], [], []
    if repo_type == "model":

        def leaderboard_of(dataset_id: str) -> str | None:
            """The leaderboard page of a benchmark the visitor may read."""
            return benchmark_page(pages.store, dataset_id, lambda other: pages.may_read(call, other))

        results = eval_results(pages.hub.leaderboards, state, revision, commit, leaderboard_of)
        index = model_index(card.data) if card is not None else []
        reports = last_reports(pages.store, commit)
    benchmark = None
    if top.benchmark:
        try:
            benchmark = pages.hub.leaderboards.benchmark(state)
        except InvalidEvalFile:
            benchmark = None
    links = {
        (value.repo_type, value.text): pages.repo_link(call, value.repo_type, value.text)
        for _, _, values in (card.panel if card is not None else [])
        for value in values
        if value.repo_type is not None
    }
    return pages.render(
        call,
        "repo.html",
        top=top,
        card=card,
        results=results,
        index=index,
        reports=reports,
        benchmark=benchmark,
        links=links,
        files=len(commit.tree),
        size=sum(entry.size for entry in commit.tree.values()),
    )
