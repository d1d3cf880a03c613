"""The card's machine-readable results: ``model-index`` entries and ``.eval_results/*.yaml`` files."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from hubrerank.benchmark.spec import task_id
from hubrerank.cards.metrics import (
    FIRST_STAGE,
    NANOBEIR_TASKS,
    SETTINGS,
    metric_label,
    nanobeir_groups,
    nanobeir_key,
    slug,
    split_setting,
)
from hubrerank.evaluation.definitions import recorded_definition
from hubrerank.kinds.spec import ENCODER_RERANKING, KindSpec, get_kind

if TYPE_CHECKING:
    from huggingface_hub import EvalResult, EvalResultEntry


def _split_group(result: dict, task_name: str, *args: str) -> dict:
    """The model-index fields of a result on one dataset split; ``args`` name the result's keys that go
    into ``dataset.args``."""
    split = result.get("split")
    return {
        "task_name": task_name,
        "dataset_name": f"{result['dataset']} ({split})",
        "dataset_config": result.get("config"),
        "dataset_split": split,
        "dataset_args": {key: result.get(key) for key in args},
        "metrics": result["metrics"],
    }


def _definition_args(result: dict) -> tuple[str, ...]:
    """The keys that say how a reranking result's NDCG and MAP were computed, when it records them: its
    metric definition and NanoBEIR's ``always_rerank_positives`` (written only when false)."""
    return tuple(key for key in ("always_rerank_positives", "metric_definition") if key in result)


def _definition_note(result: dict) -> str:
    """The ``.eval_results`` note naming the metric definition of a reranking result's NDCG and MAP."""
    definition = result.get("metric_definition")
    return f"; NDCG and MAP: {definition} (hubrerank docs/metrics.md)" if definition else ""


def model_index_results(results: dict, kind: KindSpec) -> list[EvalResult]:
    """Every measured metric of a model of ``kind`` as ``EvalResult``s, for the card's ``model-index``.

    An entry's task type is the kind's pipeline tag, as sentence-transformers' cards of the kind have it
    (``feature-extraction`` for a sparse or multi-vector encoder's retrieval and NanoBEIR), but
    ``text-ranking`` (a reranker's) for an encoder-reranking result: the Hub groups a model-index by task
    type and dataset split, and retrieval and reranking on one split are two results.

    First-stage (``base_``) metrics are not the model's and stay out; they appear in the card's tables.
    A NanoBEIR mean carries its subsets in ``dataset.args``: a mean over 3 and one over 11 share a name.
    """
    from huggingface_hub import EvalResult

    out = []
    for result in results["results"]:
        task = result.get("task")
        if task == "reranking":
            args = ("at_k", "num_queries", *_definition_args(result))
            groups = {None: _split_group(result, "Reranking", *args)}
        elif task == "retrieval":
            groups = {"retrieval": _split_group(result, "Retrieval", "at_k", "num_queries", "corpus_size")}
        elif task == "triplet":
            groups = {"triplet": _split_group(result, "Triplet", "num_triplets")}
        elif task == ENCODER_RERANKING:
            args = ("at_k", "num_queries", "similarity")
            groups = {ENCODER_RERANKING: _split_group(result, "Reranking", *args)}
        elif task in NANOBEIR_TASKS:
            subsets = result.get("datasets", [])
            args = (
                {"similarity": result["similarity"], "at_k": result.get("at_k")}
                if result.get("similarity")
                else {"rerank_k": result.get("rerank_k"), "at_k": result.get("at_k")}
                | {key: result[key] for key in _definition_args(result)}
            )
            groups = {
                group: {
                    "task_name": "NanoBEIR retrieval" if result.get("similarity") else "NanoBEIR reranking",
                    "dataset_name": f"NanoBEIR mean over {len(subsets)} subsets ({', '.join(subsets)})"
                    if group == "mean"
                    else f"Nano{group}",
                    "dataset_split": None if group == "mean" else f"Nano{group}",
                    "dataset_args": args | {"aggregate": "mean", "datasets": subsets}
                    if group == "mean"
                    else args,
                    "metrics": metrics,
                }
                for group, metrics in nanobeir_groups(result).items()
            }
        else:
            continue
        for group, fields in groups.items():
            metrics = fields.pop("metrics")
            out += [
                EvalResult(
                    task_type=_task_type(result["task"], kind),
                    dataset_type=result["dataset"],
                    dataset_revision=result.get("revision"),
                    metric_type=metric,
                    metric_name=metric_label(metric)
                    if group is None
                    else metric_label(metric, setting=False)
                    if group in ("retrieval", "triplet", ENCODER_RERANKING)
                    else nanobeir_key(result, group, metric),
                    metric_value=value,
                    **fields,
                )
                for metric, value in metrics.items()
                if split_setting(metric)[0] not in FIRST_STAGE
            ]
    return out


def _task_type(task: str, kind: KindSpec) -> str:
    """The model-index task type of a result of ``task`` for a model of ``kind`` (model_index_results)."""
    return get_kind("cross-encoder").task_type if task == ENCODER_RERANKING else kind.task_type


def _reranking_task(result: dict, metric: str, benchmarks: Mapping[str, frozenset[str]]) -> str:
    """The task id of a reranking entry: the benchmark task of its dataset that ranks this metric under
    the result's definition when there is one (hubrerank.benchmark.spec), else ``CONFIG/SPLIT/METRIC``."""
    config, split = result.get("config"), result.get("split")
    benchmark_task = task_id("reranking", config, split, metric, recorded_definition(result))
    if benchmark_task in benchmarks.get(result["dataset"], frozenset()):
        return benchmark_task
    return f"{config}/{split}/{metric}"


def eval_result_entries(
    results: dict, benchmarks: Mapping[str, frozenset[str]] | None = None
) -> dict[str, list[EvalResultEntry]]:
    """The headline metrics as Hub eval-result entries, grouped by ``.eval_results`` file name.

    ``benchmarks`` maps the datasets that are Hub benchmarks to their task ids: a reranking entry names
    the task that ranks its metric under its definition, so it shows on that benchmark's leaderboard.
    (A retrieval entry's id already is the benchmark task's: retrieval metrics have one definition.)
    """
    from huggingface_hub import EvalResultEntry

    benchmarks = benchmarks or {}
    files: dict[str, list[EvalResultEntry]] = {}
    for result in results["results"]:
        at_k = result.get("at_k", 10)
        headline = ["map", f"mrr@{at_k}", f"ndcg@{at_k}"]
        if result.get("task") == "reranking":
            name = f"reranking-{slug(result['dataset'])}-{result.get('config')}-{result.get('split')}"
            entries = [
                EvalResultEntry(
                    dataset_id=result["dataset"],
                    task_id=_reranking_task(result, prefix + metric, benchmarks),
                    value=result["metrics"][prefix + metric],
                    dataset_revision=result.get("revision"),
                    notes=f"{metric_label(prefix + metric)}; first-stage candidates reranked, cut at {at_k}"
                    + _definition_note(result),
                )
                for prefix in (SETTINGS["realistic"], SETTINGS["all_positives"])
                for metric in headline
                if prefix + metric in result["metrics"]
            ]
        elif result.get("task") in NANOBEIR_TASKS:
            name = f"{result['task']}-{slug(result['dataset'])}-{len(result.get('datasets', []))}-subsets"
            subsets = ", ".join(result.get("datasets", []))
            searched = (
                f"each subset's whole corpus searched ({result['similarity']})"
                if result.get("similarity")
                else f"BM25 top {result.get('rerank_k')} reranked"
                + ("" if result.get("always_rerank_positives", True) else ", missed positives not injected")
            )
            entries = [
                EvalResultEntry(
                    dataset_id=result["dataset"],
                    task_id=nanobeir_key(result, group, metric)
                    + (f"[{','.join(result.get('datasets', []))}]" if group == "mean" else ""),
                    value=value,
                    dataset_revision=result.get("revision"),
                    notes=(f"mean over {subsets}; " if group == "mean" else "")
                    + searched
                    + _definition_note(result),
                )
                for group, metrics in nanobeir_groups(result).items()
                for metric, value in metrics.items()
                if metric in headline
            ]
        elif result.get("task") == "retrieval":
            name = f"retrieval-{slug(result['dataset'])}-{result.get('config')}-{result.get('split')}"
            entries = [
                EvalResultEntry(
                    dataset_id=result["dataset"],
                    task_id=task_id("retrieval", result.get("config"), result.get("split"), metric, None),
                    value=result["metrics"][metric],
                    dataset_revision=result.get("revision"),
                    notes=f"{metric_label(metric, setting=False)}; the split's whole corpus searched",
                )
                for metric in (f"ndcg@{at_k}", f"mrr@{at_k}", "accuracy@1", "accuracy@10")
                if metric in result["metrics"]
            ]
        elif result.get("task") == "triplet":
            name = f"triplet-{slug(result['dataset'])}-{result.get('config')}-{result.get('split')}"
            accuracy = f"{result.get('similarity') or 'cosine'}_accuracy"
            entries = (
                [
                    EvalResultEntry(
                        dataset_id=result["dataset"],
                        task_id=f"{result.get('config')}/{result.get('split')}/triplet/{accuracy}",
                        value=result["metrics"][accuracy],
                        dataset_revision=result.get("revision"),
                        notes="anchor more similar to the positive than to the negative (TripletEvaluator)",
                    )
                ]
                if accuracy in result["metrics"]
                else []
            )
        elif result.get("task") == ENCODER_RERANKING:
            config, split = result.get("config"), result.get("split")
            name = f"{ENCODER_RERANKING}-{slug(result['dataset'])}-{config}-{split}"
            entries = [
                EvalResultEntry(
                    dataset_id=result["dataset"],
                    task_id=f"{config}/{split}/{ENCODER_RERANKING}/{metric}",
                    value=result["metrics"][metric],
                    dataset_revision=result.get("revision"),
                    notes=f"{metric_label(metric, setting=False)}; each query's positives and negatives "
                    f"ranked by the model's {result.get('similarity')} similarity "
                    "(sentence-transformers' reranking evaluator of its kind)",
                )
                for metric in headline
                if metric in result["metrics"]
            ]
        else:
            continue
        if entries:
            files[name] = entries
    return files
