"""Leaderboards: the ``.eval_results`` of every model repo that name a benchmark's dataset and task, ranked.

``GET /api/datasets/{ns}/{name}/leaderboard`` is the route huggingface_hub's ``get_dataset_leaderboard``
calls. It answers, for a dataset whose main branch holds an ``eval.yaml``, a JSON list of entries in
the Hub's shape (``rank``, ``modelId``, ``value``, ``filename``, ``verified``, ``source``, ``author``,
``pullRequest``, ``notes``) plus their provenance: ``taskId``, ``sha`` (the commit that wrote the
entry's file as it is now), ``datasetRevision``, ``date`` (the entry's, else that commit's),
``evaluationFramework``, ``metric`` (what the benchmark task says it measures: ``name``,
``definition``, ``atK``), ``badge`` and ``remeasured``. Tasks come in the order of ``eval.yaml``,
each ranked by value, highest first. As on the Hub, ``?base_model=false`` lists every model; without
it, models whose card declares a ``base_model`` are left out. A private model's entries are listed
only to callers who may read it. A dataset without ``eval.yaml`` is a 404: it has no leaderboard.

Where entries come from and which badge they get are two seams (:class:`Leaderboards`): an entry
source yields the commits to read per model repo (:func:`main_branch`, and
:func:`open_pull_requests`: the results files an open pull request adds or changes), and a badge rule
names each entry's badge (:func:`hub_badges`: ``community`` for one read from an open pull request,
else ``verified`` for an entry whose ``verifyToken`` checks (:mod:`hubrerank.server.verification`;
each entry with a token also says why it is or is not, ``verification``), else ``self-reported``).

Reading a commit's ``.eval_results`` costs a few file reads and a walk of its history; the result is
cached per (repo, commit sha), which never changes, so a leaderboard over hundreds of model repos
reads two small JSON files per repo (its settings and refs) and nothing else once warm.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response

from hubrerank.server.discussions import Discussions
from hubrerank.server.eval_files import (
    EVAL_YAML,
    Benchmark,
    BenchmarkTask,
    InvalidEvalFile,
    ResultEntry,
    is_results_file,
    parse_benchmark,
    parse_results,
)
from hubrerank.server.keys import VerifyKeys
from hubrerank.server.objects import Commit, Repo, RepoState, StoreError
from hubrerank.server.storage import Store
from hubrerank.server.verification import EntryFields, Verifier
from hubrerank.server.views import card_data

if TYPE_CHECKING:
    from hubrerank.server.auth import Account, Users
    from hubrerank.server.call import Call

SELF_REPORTED, COMMUNITY, VERIFIED = "self-reported", "community", "verified"
MAX_HISTORY = 10_000  # commits walked back to find which one wrote a results file
CACHE_SIZE = 8192  # (repo, commit) pairs whose results are kept parsed


class NotABenchmark(StoreError):
    status = 404


@dataclass(frozen=True)
class Origin:
    """Where entries were read: a model repo's branch (``main``), or an open pull request (``refs/pr/N``).

    ``base``: a commit whose files are not read again from here (a pull request's target branch
    head: only the results files the pull request adds or changes are its entries).
    """

    ref: str
    pull_request: int | None = None
    base: str | None = None


@dataclass(frozen=True)
class ResultsFile:
    """A ``.eval_results`` file of a commit: its path, the commit that wrote it as it is, its entries."""

    path: str
    written_by: str
    written_at: str
    entries: tuple[ResultEntry, ...]


@dataclass(frozen=True)
class CommitResults:
    """What one commit of a model repo holds for leaderboards."""

    files: tuple[ResultsFile, ...]
    declares_base_model: bool


@dataclass(frozen=True)
class HeldEntry:
    """An entry as a leaderboard lists it: the model repo, where it was read (the branch or pull request,
    and the commit ``read_at``), the file that holds it."""

    repo: Repo
    private: bool
    origin: Origin
    file: ResultsFile
    entry: ResultEntry
    declares_base_model: bool
    read_at: str


EntrySource = Callable[[RepoState], list[tuple[Origin, str]]]
BadgeRule = Callable[[HeldEntry], str]


def main_branch(state: RepoState) -> list[tuple[Origin, str]]:
    """The entry source of self-reported results: the head of the model repo's main branch."""
    head = state.branches.get("main")
    return [(Origin("main"), head)] if head else []


def open_pull_requests(store: Store) -> EntrySource:
    """The entry source of community results: the heads of a model repo's open (or draft) pull requests,
    each read for the results files it adds or changes against its target branch's head."""
    discussions = Discussions(store)

    def source(state: RepoState) -> list[tuple[Origin, str]]:
        found = []
        for pull in discussions.summaries(state):
            head = state.pulls.get(str(pull.num))
            if pull.is_pull_request and pull.status in ("open", "draft") and head is not None:
                base = state.branches.get(discussions.get(state, pull.num).target or "")
                found.append((Origin(f"refs/pr/{pull.num}", pull.num, base), head))
        return found

    return source


def self_reported(held: HeldEntry) -> str:
    """The badge rule while only main branches are read: every entry is the model owner's own claim."""
    return SELF_REPORTED


def entry_fields(held: HeldEntry) -> EntryFields | None:
    """What a held entry states, for checking its verifyToken (None without one)."""
    entry = held.entry
    if entry.verify_token is None:
        return None
    return EntryFields(
        entry.dataset_id, entry.task_id, entry.dataset_revision, entry.value, entry.verify_token, entry.notes
    )


def hub_badges(verifier: Verifier) -> BadgeRule:
    """The embedded Hub's badge rule: ``community`` for an entry read from an open pull request (as on
    the Hub, until it is merged, whatever its token), else ``verified`` for an entry whose verifyToken
    checks (:mod:`hubrerank.server.verification`), else ``self-reported``."""

    def badge(held: HeldEntry) -> str:
        if held.origin.pull_request is not None:
            return COMMUNITY
        fields = entry_fields(held)
        if fields is not None and verifier.check(held.repo, held.read_at, fields).verified:
            return VERIFIED
        return SELF_REPORTED

    return badge


class Leaderboards:
    """Leaderboards of one data dir, with the parsed results of each (repo, commit) cached."""

    def __init__(
        self,
        store: Store,
        sources: Sequence[EntrySource] = (main_branch,),
        badge: BadgeRule = self_reported,
    ) -> None:
        self.store, self.sources, self.badge = store, tuple(sources), badge
        self._cache: OrderedDict[tuple[str, str], CommitResults] = OrderedDict()
        self._lock = threading.Lock()

    def benchmark(self, state: RepoState) -> Benchmark:
        """The benchmark a dataset's main branch defines; NotABenchmark without ``eval.yaml``."""
        head = self.store.resolve(state, "main")
        entry = head.tree.get(EVAL_YAML)
        if entry is None:
            raise NotABenchmark(
                f"dataset {state.repo.id} has no leaderboard: its main branch has no {EVAL_YAML} "
                "(hubrerank benchmark create writes one)"
            )
        return parse_benchmark(self.store.read_blob(entry.sha256))

    def entries(self, dataset: Repo, benchmark: Benchmark, reader: Account | None) -> list[HeldEntry]:
        """Every entry of a model repo ``reader`` may read that names ``dataset`` and a task of it."""
        wanted = {task.id for task in benchmark.tasks}
        held = []
        for state in self.store.list_repos():
            if state.repo.type != "model" or (
                state.private and (reader is None or not reader.owns(state.repo.ns))
            ):
                continue
            for source in self.sources:
                for origin, sha in source(state):
                    try:
                        results = self.results(state.repo, sha)
                        unchanged = self._unchanged(state.repo, sha, origin.base)
                    except StoreError:  # deleted or moved since it was listed: not on this leaderboard
                        continue
                    held += [
                        HeldEntry(
                            state.repo, state.private, origin, file, entry, results.declares_base_model, sha
                        )
                        for file in results.files
                        if file.path not in unchanged
                        for entry in file.entries
                        if entry.dataset_id.lower() == dataset.id.lower() and entry.task_id in wanted
                    ]
        return held

    def _unchanged(self, repo: Repo, sha: str, base: str | None) -> set[str]:
        """The results files commit ``sha`` holds exactly as commit ``base`` does (none without a base)."""
        if base is None:
            return set()
        tree, base_tree = self.store.commit(repo, sha).tree, self.store.commit(repo, base).tree
        return {
            path for path, entry in tree.items() if is_results_file(path) and base_tree.get(path) == entry
        }

    def results(self, repo: Repo, sha: str) -> CommitResults:
        """The results files of commit ``sha`` of ``repo`` (cached: a commit never changes)."""
        key = (f"{repo.type}/{repo.id}", sha)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        found = self._read(repo, self.store.commit(repo, sha))
        with self._lock:
            self._cache[key] = found
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return found

    def _read(self, repo: Repo, head: Commit) -> CommitResults:
        paths = sorted(path for path in head.tree if is_results_file(path))
        writers = _writers(self.store, repo, head, paths)
        files = []
        for path in paths:
            try:
                entries = parse_results(self.store.read_blob(head.tree[path].sha256), path)
            except InvalidEvalFile:  # stored before the server checked them: left off the leaderboard
                continue
            files.append(ResultsFile(path, writers[path].id, writers[path].date, tuple(entries)))
        card = card_data(self.store, head) or {}
        return CommitResults(tuple(files), bool(card.get("base_model")))


def _writers(store: Store, repo: Repo, head: Commit, paths: list[str]) -> dict[str, Commit]:
    """For each path of ``head``, the commit that last changed it (first-parent history)."""
    found: dict[str, Commit] = {}
    pending = {path: head.tree[path].oid for path in paths}
    commit, steps = head, 0
    while pending:
        parent = store.commit(repo, commit.parents[0]) if commit.parents and steps < MAX_HISTORY else None
        for path, oid in list(pending.items()):
            before = parent.tree.get(path) if parent is not None else None
            if before is None or before.oid != oid:
                found[path] = commit
                del pending[path]
        if parent is None:
            break
        commit, steps = parent, steps + 1
    return found


def ranked(benchmark: Benchmark, held: list[HeldEntry]) -> list[tuple[int, BenchmarkTask, HeldEntry]]:
    """Entries by task (in ``eval.yaml``'s order), each task ranked by value, highest first."""
    rows = []
    for task in benchmark.tasks:
        of_task = sorted(
            (h for h in held if h.entry.task_id == task.id), key=lambda h: (-h.entry.value, h.repo.id)
        )
        rows += [(rank, task, h) for rank, h in enumerate(of_task, 1)]
    return rows


def entry_json(
    rank: int,
    task: BenchmarkTask,
    held: HeldEntry,
    badge: str,
    base_url: str,
    users: dict[str, str],
    verification: str | None = None,
) -> dict[str, Any]:
    """One leaderboard entry: the Hub's fields, then its provenance (``verification``: why its
    verifyToken does or does not make it verified; None without one)."""
    entry, ns = held.entry, held.repo.ns
    source = None
    if entry.source is not None:
        source = {
            "url": entry.source.url,
            "name": entry.source.name,
            "user": entry.source.user,
            "org": entry.source.org,
            "isExternal": not entry.source.url.startswith(base_url),
        }
    author = {"type": "user", "name": ns, "fullname": users.get(ns) or ns, "avatarUrl": ""}
    if ns not in users:
        author = {"type": "org", "name": ns, "fullname": ns, "avatarUrl": ""}
    metric = None
    if task.metric is not None:
        metric = {"name": task.metric, "definition": task.metric_definition, "atK": task.at_k}
    return {
        "rank": rank,
        "modelId": held.repo.id,
        "value": entry.value,
        "filename": held.file.path,
        "verified": badge == VERIFIED,
        "source": source,
        "author": author,
        "pullRequest": held.origin.pull_request,
        "notes": entry.notes,
        "taskId": task.id,
        "sha": held.file.written_by,
        "ref": held.origin.ref,
        "datasetRevision": entry.dataset_revision,
        "date": entry.date or held.file.written_at,
        "evaluationFramework": entry.evaluation_framework,
        "metric": metric,
        "badge": badge,
        "remeasured": entry.remeasured or badge == VERIFIED,
        "verification": verification,
        "private": held.private,
    }


class LeaderboardRoutes:
    """The handler (mixed into HubApp, which provides ``store``, ``users`` and ``readable``)."""

    store: Store
    users: Users
    verify_keys: VerifyKeys
    _leaderboards: Leaderboards | None = None
    _verifier: Verifier | None = None

    @property
    def verifier(self) -> Verifier:
        if self._verifier is None:
            self._verifier = Verifier(self.store, self.verify_keys)
        return self._verifier

    @property
    def leaderboards(self) -> Leaderboards:
        if self._leaderboards is None:
            sources = (main_branch, open_pull_requests(self.store))
            self._leaderboards = Leaderboards(self.store, sources, badge=hub_badges(self.verifier))
        return self._leaderboards

    def verification(self, held: HeldEntry) -> str | None:
        """Why an entry's verifyToken does or does not make it verified (None without one)."""
        fields = entry_fields(held)
        return None if fields is None else self.verifier.check(held.repo, held.read_at, fields).reason

    def leaderboard(self, call: Call, repo_type: str) -> Response:
        state = self.readable(call, repo_type)
        boards = self.leaderboards
        benchmark = boards.benchmark(state)
        held = boards.entries(state.repo, benchmark, call.user)
        if call.request.query_params.get("base_model", "true").lower() != "false":
            held = [h for h in held if not h.declares_base_model]
        users = self.users.fullnames()
        return JSONResponse(
            [
                entry_json(rank, task, h, boards.badge(h), call.base_url, users, self.verification(h))
                for rank, task, h in ranked(benchmark, held)
            ]
        )

    if TYPE_CHECKING:

        def readable(self, call: Call, repo_type: str) -> RepoState: ...
