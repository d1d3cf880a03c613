"""A hubrerank dataset as a Hub benchmark: the ``eval.yaml`` that registers it, written and read back.

A benchmark task is one split of the dataset scored by one metric, under a named metric definition for
reranking NDCG and MAP (hubrerank.evaluation.definitions). Its id says all of that, so results measured
otherwise can never land on its leaderboard: ``default/test/ndcg@10/all-positives`` (reranking: the
model reranks each query's listed documents; ``realistic_`` metrics rerank only what the first stage
retrieved) and ``queries/test/retrieval/ndcg@10`` (retrieval over the split's whole corpus: the
retrieval form, NanoBEIR's format, or a reranking split's documents). The same function
(:func:`task_id`) names the tasks here and the entries hubrerank's cards write, which is how a card
points its ``.eval_results`` at a benchmark.

Besides the Hub's fields (``name``, ``description``, ``evaluation_framework``, ``tasks: [{id, config,
split}]``), each task records ``kind``, ``metric``, ``metric_definition`` and ``at_k``, and the file
records the dataset revision the benchmark was made from (``dataset_revision``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from hubrerank.errors import InputError
from hubrerank.refs import Ref, ResolvedRef

EVAL_YAML = "eval.yaml"
FRAMEWORK = "hubrerank"
KINDS = ("reranking", "retrieval")
DEFAULT_METRIC = "ndcg@10"
_RERANKING_METRIC = re.compile(r"^(realistic_)?(map|mrr@\d+|ndcg@\d+)$")
_RETRIEVAL_METRIC = re.compile(r"^(ndcg|mrr|map|accuracy|precision|recall)@\d+$")


@dataclass(frozen=True)
class BenchmarkTask:
    """One task: a split of the dataset and the metric its leaderboard ranks by."""

    id: str
    config: str
    split: str
    kind: str
    metric: str
    metric_definition: str | None
    at_k: int | None


@dataclass(frozen=True)
class Benchmark:
    """A dataset's ``eval.yaml``, with the dataset it was read from (or is written to)."""

    dataset: str
    name: str
    description: str
    tasks: tuple[BenchmarkTask, ...]
    dataset_revision: str | None = None
    evaluation_framework: str = FRAMEWORK

    @property
    def task_ids(self) -> frozenset[str]:
        return frozenset(task.id for task in self.tasks)


def task_id(kind: str, config: str | None, split: str | None, metric: str, definition: str | None) -> str:
    """The id of the task that ranks ``metric`` of a split: what benchmarks name and cards point at."""
    if kind == "retrieval":
        return f"{config}/{split}/retrieval/{metric}"
    return f"{config}/{split}/{metric}/{definition}"


def at_k_of(metric: str) -> int | None:
    """``ndcg@10`` -> 10; None for a metric without a cut-off (``map``)."""
    _, at, k = metric.partition("@")
    return int(k) if at else None


@dataclass(frozen=True)
class TaskRequest:
    """A ``--task`` as written: ``[CONFIG/]SPLIT[:METRIC]``."""

    config: str | None
    split: str
    metric: str

    @classmethod
    def parse(cls, text: str) -> TaskRequest:
        where, _, metric = text.partition(":")
        config, _, split = where.rpartition("/")
        if not split or "/" in config:
            raise InputError(f"--task {text!r}: write [CONFIG/]SPLIT[:METRIC], e.g. test or test:ndcg@10")
        return cls(config or None, split, metric or DEFAULT_METRIC)


def benchmark_tasks(
    layout: dict[str, list[str]], requests: Iterable[TaskRequest], kind: str, definition: str | None
) -> tuple[BenchmarkTask, ...]:
    """The tasks ``requests`` name on a dataset of ``layout`` (config -> splits); InputError naming the
    task if its split, config or metric does not fit the dataset or ``kind``."""
    retrieval_form = {"corpus", "queries", "qrels"} <= set(layout)
    if kind not in KINDS:
        raise InputError(f"--kind {kind!r}: use one of {', '.join(KINDS)}")
    if retrieval_form and kind != "retrieval":
        raise InputError("this dataset is in the retrieval form (corpus, queries, qrels): --kind retrieval")
    tasks: list[BenchmarkTask] = []
    for request in requests:
        pattern = _RETRIEVAL_METRIC if kind == "retrieval" else _RERANKING_METRIC
        if not pattern.match(request.metric):
            example = "ndcg@10, recall@100" if kind == "retrieval" else "ndcg@10, realistic_mrr@10, map"
            raise InputError(f"--task metric {request.metric!r} is not a {kind} metric (e.g. {example})")
        config = request.config or _config_with(layout, request.split, retrieval_form)
        if request.split not in layout.get(config, []):
            splits = ", ".join(f"{c}/{s}" for c, names in layout.items() for s in names)
            raise InputError(f"--task {config}/{request.split}: the dataset has no such split ({splits})")
        task_definition = definition if kind == "reranking" else None
        tasks.append(
            BenchmarkTask(
                task_id(kind, config, request.split, request.metric, task_definition),
                config,
                request.split,
                kind,
                request.metric,
                task_definition,
                at_k_of(request.metric),
            )
        )
    if not tasks:
        raise InputError("name at least one --task (e.g. --task test)")
    if len({task.id for task in tasks}) < len(tasks):
        raise InputError("two --task options name the same task; give each split and metric once")
    return tuple(tasks)


def _config_with(layout: dict[str, list[str]], split: str, retrieval_form: bool) -> str:
    if retrieval_form:
        return "queries"
    having = [config for config, splits in layout.items() if split in splits]
    if len(having) != 1:
        found = "no config has it" if not having else f"configs {', '.join(having)} have it"
        raise InputError(f"--task {split}: {found}; write --task CONFIG/{split}")
    return having[0]


def render(benchmark: Benchmark) -> bytes:
    """The ``eval.yaml`` text of ``benchmark``."""
    data: dict[str, Any] = {
        "name": benchmark.name,
        "description": benchmark.description,
        "evaluation_framework": benchmark.evaluation_framework,
        "dataset_revision": benchmark.dataset_revision,
        "tasks": [
            {
                "id": task.id,
                "config": task.config,
                "split": task.split,
                "kind": task.kind,
                "metric": task.metric,
                "metric_definition": task.metric_definition,
                "at_k": task.at_k,
            }
            for task in benchmark.tasks
        ],
    }
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()


def parse(dataset: str, text: bytes) -> Benchmark:
    """A dataset's ``eval.yaml`` (any benchmark's, not only hubrerank's); InputError if unreadable."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InputError(f"{EVAL_YAML} of dataset {dataset} is not valid YAML: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("tasks"), list):
        raise InputError(f"{EVAL_YAML} of dataset {dataset} has no 'tasks' list")
    tasks = tuple(
        BenchmarkTask(
            str(item.get("id")),
            str(item.get("config")),
            str(item.get("split")),
            str(item.get("kind") or "reranking"),
            str(item.get("metric") or ""),
            item.get("metric_definition"),
            item.get("at_k"),
        )
        for item in data["tasks"]
        if isinstance(item, dict) and item.get("id") is not None
    )
    return Benchmark(
        dataset,
        str(data.get("name") or dataset),
        str(data.get("description") or ""),
        tasks,
        data.get("dataset_revision"),
        str(data.get("evaluation_framework") or ""),
    )


def describe(ref: ResolvedRef, tasks: tuple[BenchmarkTask, ...]) -> str:
    """The default description: what the tasks measure, on which data."""
    from hubrerank.evaluation.definitions import DESCRIPTIONS

    lines = [f"hubrerank benchmark on {ref.repo_id}@{ref.sha}."]
    for task in tasks:
        how = (
            "retrieval over the split's whole corpus"
            if task.kind == "retrieval"
            else "reranking each query's listed documents"
            + (" as the first stage retrieved them" if task.metric.startswith("realistic_") else "")
            + f"; NDCG and MAP {DESCRIPTIONS.get(task.metric_definition or '', task.metric_definition)}"
        )
        lines.append(f"{task.id}: {task.metric} on {task.config}/{task.split}, {how}.")
    return "\n".join(lines) + "\n"


def read_benchmark(dataset: str) -> Benchmark | None:
    """The benchmark a Hub dataset's main branch defines, None if it has no ``eval.yaml``."""
    from hubrerank.hub import read_file, resolve

    ref = resolve(Ref.parse(dataset, "dataset"))
    text = read_file(ref, EVAL_YAML)
    return None if text is None else parse(dataset, text)


def benchmark_task_ids(datasets: Iterable[str]) -> dict[str, frozenset[str]]:
    """The task ids of each of ``datasets`` that is a Hub benchmark. A dataset the Hub cannot tell about
    (offline, missing, private, unreachable, an unreadable eval.yaml) counts as no benchmark: the card's
    entries then keep their own task ids."""
    from huggingface_hub import constants

    from hubrerank.errors import HubrerankError

    found: dict[str, frozenset[str]] = {}
    for dataset in [] if constants.HF_HUB_OFFLINE else datasets:
        try:
            benchmark = read_benchmark(dataset)
        except HubrerankError:
            continue
        if benchmark is not None:
            found[dataset] = benchmark.task_ids
    return found


def create_benchmark(
    dataset: str,
    requests: Iterable[TaskRequest],
    *,
    kind: str | None = None,
    definition: str | None = None,
    name: str | None = None,
    push: bool = True,
) -> tuple[Benchmark, ResolvedRef | None]:
    """Register ``dataset`` (``REPO[@REV]``) as a benchmark: its ``eval.yaml``, pushed to main unless
    ``push`` is False. Returns the benchmark and the new commit of the dataset repo (None unpushed)."""
    from hubrerank.evaluation.definitions import DEFINITIONS, installed_definition
    from hubrerank.hub import dataset_splits, publish, resolve

    ref = resolve(Ref.parse(dataset, "dataset"))
    layout: dict[str, list[str]] = {}
    for info in dataset_splits(ref):
        layout.setdefault(info.config, []).append(info.split)
    retrieval_form = {"corpus", "queries", "qrels"} <= set(layout)
    kind = kind or ("retrieval" if retrieval_form else "reranking")
    if definition is not None and definition not in DEFINITIONS:
        raise InputError(f"--definition {definition!r}: use one of {', '.join(DEFINITIONS)}")
    tasks = benchmark_tasks(layout, requests, kind, definition or installed_definition())
    title = name or f"{ref.repo_id} ({kind})"
    benchmark = Benchmark(ref.repo_id, title, describe(ref, tasks), tasks, ref.sha)
    if not push:
        return benchmark, None
    published = publish(
        ref.repo_id,
        {EVAL_YAML: render(benchmark)},
        repo_type="dataset",
        message=f"Register as a benchmark ({len(tasks)} tasks, hubrerank benchmark create)",
    )
    return benchmark, published
