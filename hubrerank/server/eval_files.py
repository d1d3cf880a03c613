"""The Hub's evaluation files, read and checked: a benchmark's ``eval.yaml`` and a model's ``.eval_results``.

Since February 2026 huggingface.co keeps evaluation results decentrally (Hub docs, "Evaluation
Results"): a dataset repo with an ``eval.yaml`` at its root is a **benchmark** (``name``,
``description``, ``evaluation_framework``, ``tasks: [{id, config, split, ...}]``), and a model repo
stores its scores as ``.eval_results/*.yaml``, each a list of entries (``dataset: {id, task_id,
revision}``, ``value``, ``date``, ``source: {url, name, user, org}``, ``evaluation_framework``, ``notes``,
``verifyToken``).

Both are checked when a commit adds them (:func:`check_pushed_file`): a file that breaks a rule is a 400
naming the file and the field, and the commit is not stored. The rules: YAML without aliases, nested at
most ``MAX_DEPTH`` levels, at most ``MAX_FILE_BYTES``; every documented field of its documented type;
task ids unique. Unknown keys are kept and ignored (Inspect AI's ``field_spec``, ``solvers``, ``scorers``
in a task; anything newer in an entry), and an entry naming a dataset that is not a benchmark, or a task
the benchmark lacks, is accepted and left off the leaderboard, as on huggingface.co: benchmarks come
and go after results are written. Two optional fields are hubrerank's: a task's ``metric``,
``metric_definition`` and ``at_k`` (what the task measures) and an entry's ``remeasured`` (the value was
measured again by someone other than its claimant).
"""

from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hubrerank.server.objects import StoreError

EVAL_YAML = "eval.yaml"
RESULTS_FOLDER = ".eval_results"
MAX_FILE_BYTES = 64 * 1024  # an eval.yaml of a few hundred tasks, or a results file of a few hundred entries
MAX_DEPTH = 32
_FRAMEWORK_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_TYPE_NAMES = {
    str: "a string",
    bool: "true or false",
    int: "an integer",
    list: "a list",
    dict: "a mapping",
    datetime.date: "a date",
}


class InvalidEvalFile(StoreError):
    """An ``eval.yaml`` or ``.eval_results`` file the Hub would refuse: 400, nothing stored."""


def is_results_file(path: str) -> bool:
    """True for ``.eval_results/<name>.yaml``: the files the leaderboard reads (not nested folders)."""
    folder, _, name = path.partition("/")
    return folder == RESULTS_FOLDER and "/" not in name and name.endswith(".yaml") and name != ".yaml"


def is_checked(repo_type: str, path: str) -> bool:
    """True for the files a commit's checks read: a dataset's eval.yaml, a model's results files."""
    return (repo_type == "dataset" and path == EVAL_YAML) or (repo_type == "model" and is_results_file(path))


def check_pushed_file(repo_type: str, path: str, data: bytes) -> None:
    """InvalidEvalFile if a commit to a ``repo_type`` repo may not add ``data`` at ``path``."""
    if repo_type == "dataset" and path == EVAL_YAML:
        parse_benchmark(data)
    elif repo_type == "model" and is_results_file(path):
        parse_results(data, path)


def check_pushed_object(repo_type: str, path: str, size: int, blob: Path) -> None:
    """:func:`check_pushed_file` for a file committed as an LFS object of ``size`` bytes, at ``blob``."""
    if not is_checked(repo_type, path):
        return
    if size > MAX_FILE_BYTES:
        raise InvalidEvalFile(f"{path} is {size} bytes; the embedded Hub accepts at most {MAX_FILE_BYTES}")
    check_pushed_file(repo_type, path, blob.read_bytes())


@dataclass(frozen=True)
class BenchmarkTask:
    """One task of a benchmark: a split of the dataset, and (hubrerank's fields) the metric it ranks by."""

    id: str
    config: str
    split: str
    metric: str | None = None
    metric_definition: str | None = None
    at_k: int | None = None


@dataclass(frozen=True)
class Benchmark:
    """A dataset repo's ``eval.yaml``."""

    name: str
    description: str | None
    evaluation_framework: str
    tasks: tuple[BenchmarkTask, ...]

    def task(self, task_id: str) -> BenchmarkTask | None:
        return next((task for task in self.tasks if task.id == task_id), None)


@dataclass(frozen=True)
class Source:
    """Where a result comes from: a link, its display name, the user or org credited."""

    url: str
    name: str | None = None
    user: str | None = None
    org: str | None = None


@dataclass(frozen=True)
class ResultEntry:
    """One entry of a ``.eval_results/*.yaml`` file."""

    dataset_id: str
    task_id: str
    value: float
    dataset_revision: str | None = None
    date: str | None = None
    source: Source | None = None
    evaluation_framework: str | None = None
    notes: str | None = None
    verify_token: str | None = None
    remeasured: bool = False


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader refusing aliases (``*name``: a few bytes that expand to gigabytes) and deep nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "YAML aliases (*name) are not allowed", mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(data: bytes, what: str) -> Any:
    """The YAML document in ``data``; InvalidEvalFile naming ``what`` if too large, not UTF-8 or refused."""
    if len(data) > MAX_FILE_BYTES:
        raise InvalidEvalFile(
            f"{what} is {len(data)} bytes; the embedded Hub accepts at most {MAX_FILE_BYTES}: shorten it"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidEvalFile(f"{what} is not UTF-8 text") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: no arbitrary objects
    except yaml.YAMLError as error:
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise InvalidEvalFile(f"{what} is not acceptable YAML{where}: {problem}") from None


class _Fields:
    """A YAML mapping read field by field with explicit types: InvalidEvalFile naming file and field."""

    def __init__(self, data: Any, what: str, path: str = "") -> None:
        self.what, self.path = what, path
        if not isinstance(data, dict):
            self.fail(f"'{path}' must be a mapping" if path else "must be a YAML mapping")
        self.data: dict[Any, Any] = data

    def name(self, key: str) -> str:
        return f"'{self.path}.{key}'" if self.path else f"'{key}'"

    def fail(self, message: str) -> None:
        raise InvalidEvalFile(f"{self.what}: {message}")

    def get(self, key: str, kind: type | tuple[type, ...], *, required: bool = False) -> Any:
        """Field ``key`` if of ``kind`` (bools are not numbers), None if absent or null."""
        value = self.data.get(key)
        if value is None:
            if required:
                self.fail(f"{self.name(key)} is required")
            return None
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            expected = "a number" if kinds == (int, float) else " or ".join(_TYPE_NAMES[k] for k in kinds)
            self.fail(f"{self.name(key)} must be {expected}, not {type(value).__name__}")
        return value

    def text(self, key: str, *, required: bool = False) -> str | None:
        value = self.get(key, str, required=required)
        if required and not value.strip():
            self.fail(f"{self.name(key)} must not be empty")
        return value

    def mapping(self, key: str, *, required: bool = False) -> _Fields | None:
        value = self.get(key, dict, required=required)
        return None if value is None else _Fields(value, self.what, self.name(key).strip("'"))


def parse_benchmark(data: bytes) -> Benchmark:
    """A benchmark's ``eval.yaml``; InvalidEvalFile naming the field that breaks the format."""
    fields = _Fields(load_yaml(data, EVAL_YAML), EVAL_YAML)
    framework = fields.text("evaluation_framework", required=True)
    if not _FRAMEWORK_RE.match(framework):
        fields.fail(f"'evaluation_framework' {framework[:40]!r} must be an identifier such as inspect-ai")
    tasks_data = fields.get("tasks", list, required=True)
    if not tasks_data:
        fields.fail("'tasks' must list at least one task")
    tasks: list[BenchmarkTask] = []
    for i, item in enumerate(tasks_data):
        task = _Fields(item, EVAL_YAML, f"tasks[{i}]")
        task_id = task.text("id", required=True)
        if any(known.id == task_id for known in tasks):
            task.fail(f"'tasks[{i}].id' {task_id!r} is the id of an earlier task; task ids must be unique")
        at_k = task.get("at_k", int)
        if at_k is not None and at_k < 1:
            task.fail(f"'tasks[{i}].at_k' must be a positive integer")
        tasks.append(
            BenchmarkTask(
                task_id,
                task.text("config", required=True),
                task.text("split", required=True),
                task.text("metric"),
                task.text("metric_definition"),
                at_k,
            )
        )
    return Benchmark(fields.text("name", required=True), fields.text("description"), framework, tuple(tasks))


def parse_results(data: bytes, path: str) -> list[ResultEntry]:
    """The entries of a ``.eval_results/*.yaml`` file; InvalidEvalFile naming the file and field."""
    loaded = load_yaml(data, path)
    if not isinstance(loaded, list):
        raise InvalidEvalFile(f"{path}: must be a YAML list of results (- dataset: ... value: ...)")
    return [_entry(_Fields(item, path, f"[{i}]")) for i, item in enumerate(loaded)]


def _entry(fields: _Fields) -> ResultEntry:
    dataset = fields.mapping("dataset", required=True)
    assert dataset is not None
    value = fields.get("value", (int, float), required=True)
    if not math.isfinite(value):
        fields.fail(f"{fields.name('value')} must be a finite number, not {value}")
    source_fields = fields.mapping("source")
    source = None
    if source_fields is not None:
        source = Source(
            source_fields.text("url", required=True),
            source_fields.text("name"),
            source_fields.text("user"),
            source_fields.text("org"),
        )
    date = fields.get("date", (str, datetime.date))  # YAML reads an unquoted 2025-01-15 as a date
    return ResultEntry(
        dataset_id=dataset.text("id", required=True),
        task_id=dataset.text("task_id", required=True),
        value=float(value),
        dataset_revision=dataset.text("revision"),
        date=date.isoformat() if isinstance(date, datetime.date) else date,
        source=source,
        evaluation_framework=fields.text("evaluation_framework"),
        notes=fields.text("notes"),
        verify_token=fields.text("verifyToken"),
        remeasured=bool(fields.get("remeasured", bool)),
    )
