"""Model cards: README.md and ``.eval_results/*.yaml`` for a trained reranker, from the files training wrote.

The card is rendered from ``hubrerank.yaml`` (the resolved recipe), ``eval_results.json`` and
``training_log.jsonl`` alone, so it can be regenerated at any time without retraining. Its YAML header
carries a ``model-index`` built with huggingface_hub's ``EvalResult`` (so ``model_index_to_eval_results``
reads it back); the same numbers go to ``.eval_results/*.yaml`` for the Hub's eval-results view.
Links are root-relative (``/datasets/ID/tree/SHA``) so they work on whichever Hub serves the card, and
nothing local (paths, the endpoint URL, tokens) is written into it.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from hubrerank.cards.render import MODEL_CARD_TEMPLATE, render_template
from hubrerank.errors import InputError
from hubrerank.kinds.cross_encoder import CROSS_ENCODER
from hubrerank.record import (
    CARD_SOURCES,
    RECIPE_FILE,
    RESULTS_FILE,
    EvalResults,
    LogRow,
    RunRecord,
    read_log,
    read_results,
    read_run_record,
)
from hubrerank.refs import Ref, ResolvedRef

if TYPE_CHECKING:
    from huggingface_hub import EvalResult, EvalResultEntry, ModelCard

# the files a card is built from, as download patterns
TAGS = list(CROSS_ENCODER.card_tags)
TASK_TYPE = CROSS_ENCODER.task_type
MAX_LOG_ROWS = 25
_MISSING = "–"
# metric-name prefixes of eval_results.json (docs/contracts.md, hubrerank.evaluation.metrics), longest first:
# the first stage's order as retrieved, the same with missed positives appended (sentence-transformers'
# base_), the model on what the first stage retrieved, the model with every positive injected
_SETTINGS = {
    "first_stage": "realistic_base_",
    "first_stage_appended": "base_",
    "realistic": "realistic_",
    "all_positives": "",
}
_FIRST_STAGE = ("realistic_base_", "base_")
_NANO_KEY = re.compile(r"^Nano(?P<subset>\w+?)_R(?P<rerank_k>\d+)_(?P<metric>.+)$")
_HIDDEN_ARGS = {
    "output_dir",
    "logging_dir",
    "run_name",
    "report_to",
    "push_to_hub",
    "hub_model_id",
    "hub_token",
}


def read_model_files(model_dir: Path) -> tuple[RunRecord, EvalResults, list[LogRow]]:
    """The run record, the results and the training log (empty when absent) of a trained model folder."""
    for name in (RECIPE_FILE, RESULTS_FILE):
        if not (model_dir / name).is_file():
            raise InputError(
                f"{name} not found in {model_dir}: a card needs the {RECIPE_FILE} and {RESULTS_FILE} "
                "that `hubrerank train` writes into the model folder"
            )
    return read_run_record(model_dir), read_results(model_dir / RESULTS_FILE), read_log(model_dir)


def render_model_card(
    model_dir: Path,
    repo_id: str | None = None,
    reports: list[dict] | None = None,
    *,
    revision: str | None = None,
) -> ModelCard:
    """The model card of the trained model in ``model_dir``, to be published as ``repo_id``.

    ``revision`` is the commit (or tag) holding these weights, written into the usage snippet and the
    reproduce commands; leave it None when the card goes into that very commit, whose sha cannot be
    known before it exists. ``reports`` are verification reports (``reproductions/*.json``).
    """
    from huggingface_hub import ModelCard, ModelCardData

    model_dir = Path(model_dir)
    recipe, results, log = read_model_files(model_dir)
    model_id = repo_id or str(recipe.get("name") or model_dir.name)
    base = _base_model(recipe)
    inherited = _base_metadata(base)
    train_datasets = _train_datasets(recipe)
    eval_results = results["results"]
    eval_datasets = _eval_datasets(eval_results)
    baselines = results.get("baselines") or []
    baseline_results = baselines[0].get("results", []) if baselines else []
    card_data = ModelCardData(
        model_name=model_id,
        base_model=base["id"],
        datasets=list(dict.fromkeys([d["id"] for d in train_datasets] + [d["id"] for d in eval_datasets])),
        language=_as_list(inherited.get("language")),
        license=inherited.get("license"),
        library_name="sentence-transformers",
        pipeline_tag=TASK_TYPE,
        tags=TAGS,
        eval_results=model_index_results(results) or None,
    )
    reranking = [_reranking_view(r, baseline_results) for r in eval_results if r.get("task") == "reranking"]
    nanobeir = [_nanobeir_view(r, baseline_results) for r in eval_results if r.get("task") == "nanobeir"]
    text = render_template(
        MODEL_CARD_TEMPLATE,
        card_data=card_data.to_yaml(),
        title=model_id.split("/")[-1],
        model_id=model_id,
        load_id=repo_id or f"path/to/{model_dir.name}",
        published=repo_id is not None,
        folder=model_dir.name,
        revision=revision,
        base=base,
        train_datasets=train_datasets,
        eval_datasets=eval_datasets,
        summary=_summary(reranking, nanobeir),
        baseline_label=_baseline_label(baselines[0]) if baselines else None,
        reranking=reranking,
        nanobeir=nanobeir,
        recipe=_recipe_rows(recipe, base),
        hyperparameters=_hyperparameters(recipe),
        versions=_versions(recipe),
        log=_log_view(log, recipe),
        reproduce_ref=f"{repo_id or 'ORG/NAME'}@{revision or '<this commit>'}",
        reports=[_report_view(report) for report in reports or []],
    )
    return ModelCard(_redact(text, model_dir))


def card_files(
    model_dir: Path,
    repo_id: str,
    reports: list[dict] | None = None,
    *,
    revision: str | None = None,
) -> dict[str, bytes]:
    """The files that publish a card: ``README.md`` and ``.eval_results/*.yaml`` (repo path -> bytes)."""
    from huggingface_hub import eval_result_entries_to_yaml
    from huggingface_hub.constants import EVAL_RESULTS_FOLDER

    card = render_model_card(model_dir, repo_id, reports, revision=revision)
    _, results, _ = read_model_files(Path(model_dir))
    files = {"README.md": str(card).encode()}
    for name, entries in eval_result_entries(results).items():
        text = yaml.safe_dump(eval_result_entries_to_yaml(entries), sort_keys=False, allow_unicode=True)
        files[f"{EVAL_RESULTS_FOLDER}/{name}.yaml"] = text.encode()
    return files


def fetch_card_sources(ref: ResolvedRef) -> Path:
    """Download the files a card is built from, at the pinned commit."""
    from hubrerank.hub import download

    folder = download(ref, allow_patterns=CARD_SOURCES)
    for name in (RECIPE_FILE, RESULTS_FILE):
        if not (folder / name).is_file():
            raise InputError(
                f"model repo {ref} has no {name}: only models trained and pushed by `hubrerank train` "
                "carry the recipe and results a card is built from"
            )
    return folder


def publish_card(
    model_dir: Path,
    repo_id: str,
    reports: list[dict] | None = None,
    *,
    revision: str | None = None,
) -> ResolvedRef:
    """Publish README.md and .eval_results/* to ``repo_id`` in one commit; returns the new commit.

    When ``revision`` names the commit the card describes, it must still be the head of main: a card
    rendered from an older commit would describe other weights than the ones it is published beside.
    """
    from hubrerank.hub import publish, resolve

    if revision is not None:
        head = resolve(Ref(repo_id, "main"))
        if head.sha != revision and resolve(Ref(repo_id, revision)).sha != head.sha:
            raise InputError(
                f"{repo_id}@{revision} is not the head of main ({head.sha}); regenerate the card from "
                f"{repo_id} (its current head) instead"
            )
    files = card_files(model_dir, repo_id, reports, revision=revision)
    return publish(repo_id, files, message="Update model card (hubrerank card)")


def model_index_results(results: dict) -> list[EvalResult]:
    """Every measured metric of the model as ``EvalResult``s, for the card's ``model-index``.

    First-stage (``base_``) metrics are not the model's and stay out; they appear in the card's tables.
    A NanoBEIR mean carries its subsets in ``dataset.args``: a mean over 3 and one over 11 share a name.
    """
    from huggingface_hub import EvalResult

    out = []
    for result in results["results"]:
        if result.get("task") == "reranking":
            split = result.get("split")
            groups = {
                None: {
                    "task_name": "Reranking",
                    "dataset_name": f"{result['dataset']} ({split})",
                    "dataset_config": result.get("config"),
                    "dataset_split": split,
                    "dataset_args": {"at_k": result.get("at_k"), "num_queries": result.get("num_queries")},
                    "metrics": result["metrics"],
                }
            }
        elif result.get("task") == "nanobeir":
            subsets = result.get("datasets", [])
            args = {"rerank_k": result.get("rerank_k"), "at_k": result.get("at_k")}
            groups = {
                group: {
                    "task_name": "NanoBEIR reranking",
                    "dataset_name": f"NanoBEIR mean over {len(subsets)} subsets ({', '.join(subsets)})"
                    if group == "mean"
                    else f"Nano{group}",
                    "dataset_split": None if group == "mean" else f"Nano{group}",
                    "dataset_args": args | {"aggregate": "mean", "datasets": subsets}
                    if group == "mean"
                    else args,
                    "metrics": metrics,
                }
                for group, metrics in _nanobeir_groups(result).items()
            }
        else:
            continue
        for group, fields in groups.items():
            metrics = fields.pop("metrics")
            out += [
                EvalResult(
                    task_type=TASK_TYPE,
                    dataset_type=result["dataset"],
                    dataset_revision=result.get("revision"),
                    metric_type=metric,
                    metric_name=_metric_label(metric)
                    if group is None
                    else _nanobeir_key(result, group, metric),
                    metric_value=value,
                    **fields,
                )
                for metric, value in metrics.items()
                if _setting(metric)[0] not in _FIRST_STAGE
            ]
    return out


def eval_result_entries(results: dict) -> dict[str, list[EvalResultEntry]]:
    """The headline metrics as Hub eval-result entries, grouped by ``.eval_results`` file name."""
    from huggingface_hub import EvalResultEntry

    files: dict[str, list[EvalResultEntry]] = {}
    for result in results["results"]:
        at_k = result.get("at_k", 10)
        headline = ["map", f"mrr@{at_k}", f"ndcg@{at_k}"]
        if result.get("task") == "reranking":
            name = f"reranking-{_slug(result['dataset'])}-{result.get('config')}-{result.get('split')}"
            entries = [
                EvalResultEntry(
                    dataset_id=result["dataset"],
                    task_id=f"{result.get('config')}/{result.get('split')}/{prefix}{metric}",
                    value=result["metrics"][prefix + metric],
                    dataset_revision=result.get("revision"),
                    notes=f"{_metric_label(prefix + metric)}; first-stage candidates reranked, cut at {at_k}",
                )
                for prefix in (_SETTINGS["realistic"], _SETTINGS["all_positives"])
                for metric in headline
                if prefix + metric in result["metrics"]
            ]
        elif result.get("task") == "nanobeir":
            name = f"nanobeir-{_slug(result['dataset'])}-{len(result.get('datasets', []))}-subsets"
            subsets = ", ".join(result.get("datasets", []))
            entries = [
                EvalResultEntry(
                    dataset_id=result["dataset"],
                    task_id=_nanobeir_key(result, group, metric)
                    + (f"[{','.join(result.get('datasets', []))}]" if group == "mean" else ""),
                    value=value,
                    dataset_revision=result.get("revision"),
                    notes=(f"mean over {subsets}; " if group == "mean" else "")
                    + f"BM25 top {result.get('rerank_k')} reranked",
                )
                for group, metrics in _nanobeir_groups(result).items()
                for metric, value in metrics.items()
                if metric in headline
            ]
        else:
            continue
        if entries:
            files[name] = entries
    return files


# ---- the card's sections -------------------------------------------------------------------------------


def _base_model(recipe: dict) -> dict[str, str | None]:
    """The base model: its repo id for the YAML, a label and a pinned link for the body."""
    base = recipe.get("base_model") or {}
    repo, sha = base.get("repo"), base.get("revision")
    if not repo:
        return {"id": None, "label": None, "link": None, "revision": None}
    if _is_local(repo):
        return {"id": None, "label": f"a local model (`{Path(repo).name}`)", "link": None, "revision": None}
    return {"id": repo, "label": repo, "link": _link("model", repo, sha), "revision": sha}


def _base_metadata(base: dict[str, str | None]) -> dict[str, Any]:
    """License and language of the base model's own card at its pinned revision: a fine-tune inherits them.

    Empty when there is no Hub base model, it has no card, or the Hub cannot be reached (offline use).
    """
    from hubrerank.hub import model_card_data

    if base["id"] is None:
        return {}
    card_data = model_card_data(ResolvedRef(base["id"], base["revision"] or "main", "model"))
    return {key: card_data.get(key) for key in ("license", "language") if card_data.get(key)}


def _train_datasets(recipe: dict) -> list[dict[str, Any]]:
    """The Hub datasets the model was trained on, each with a link to its pinned revision."""
    train = recipe.get("train") or []
    out = []
    for entry in train if isinstance(train, list) else [train]:
        repo, sha = entry["dataset"], entry.get("revision")
        details = ", ".join(f"{key} `{entry[key]}`" for key in ("config", "split") if key in entry)
        if "label_column" in entry or "label_scale" in entry:
            scale = f" × {entry['label_scale']:g}" if "label_scale" in entry else ""
            details += f", labels `{entry.get('label_column', 'default')}`{scale}"
        out.append({"id": repo, "revision": sha, "link": _link("dataset", repo, sha), "details": details})
    return out


def _eval_datasets(results: list[dict]) -> list[dict[str, str]]:
    seen = {(r["dataset"], r.get("revision")) for r in results if not _is_local(r["dataset"])}
    return [{"id": repo, "revision": sha, "link": _link("dataset", repo, sha)} for repo, sha in sorted(seen)]


def _reranking_view(result: dict, baselines: list[dict]) -> dict[str, Any]:
    """One reranking evaluation: its metrics in the three settings, and the base model's when known."""
    metrics = result["metrics"]
    at_k = result.get("at_k", 10)
    names = ["map", f"mrr@{at_k}", f"ndcg@{at_k}"]
    cutoffs = sorted(
        {int(m.split("@")[1]) for m in metrics if re.fullmatch(r"(?:\w+_)?hit_rate@\d+", m)},
    )
    names += [f"{kind}@{k}" for kind in ("hit_rate", "mrr") for k in cutoffs if f"{kind}@{k}" not in names]
    base = _matching(result, baselines)
    rows = []
    for name in names:
        row = {"metric": _metric_label(name, setting=False)}
        row |= {setting: _fmt(metrics.get(prefix + name)) for setting, prefix in _SETTINGS.items()}
        if base is not None:
            row["baseline_realistic"] = _fmt(base["metrics"].get(_SETTINGS["realistic"] + name))
            row["baseline_all_positives"] = _fmt(base["metrics"].get(name))
        rows.append(row)
    ndcg = f"ndcg@{at_k}"
    realistic = _SETTINGS["realistic"] + ndcg in metrics
    headline = _SETTINGS["realistic"] + ndcg if realistic else ndcg
    # like with like: the realistic ranking against the first stage's own order, when measured
    first_stage = metrics.get(_SETTINGS["first_stage"] + ndcg) if realistic else None
    return {
        "dataset": result["dataset"],
        "link": _link("dataset", result["dataset"], result.get("revision")),
        "revision": result.get("revision"),
        "config": result.get("config", "default"),
        "split": result.get("split"),
        "at_k": at_k,
        "num_queries": result.get("num_queries", _MISSING),
        "queries_without_positives": result.get("queries_without_positives"),
        "rows": rows,
        "versus": _versus_view(result.get("versus_first_stage")),
        "baseline": base is not None,
        "appended": any(m.startswith(_SETTINGS["first_stage_appended"]) for m in metrics),
        "headline": {
            "evaluation": f"{result['dataset']} ({result.get('split')})",
            "metric": _metric_label(headline),
            "first_stage": metrics.get(_SETTINGS["first_stage_appended"] + ndcg)
            if first_stage is None
            else first_stage,
            "model": metrics.get(headline),
            "baseline": base["metrics"].get(headline) if base else None,
        },
    }


def _versus_view(versus: dict | None) -> dict[str, Any] | None:
    """The paired test against the first stage (eval_results ``versus_first_stage``), ready to print."""
    if not versus:
        return None
    return {
        "metric": _metric_label(versus["metric"], setting=False),
        "wins": versus["wins"],
        "losses": versus["losses"],
        "ties": versus["ties"],
        "queries": versus["queries"],
        "delta": f"{versus['delta']:+.4f}",
        "p_value": f"{versus['p_value']:.3g}",
        "test": versus["test"],
    }


def _nanobeir_view(result: dict, baselines: list[dict]) -> dict[str, Any]:
    """One NanoBEIR evaluation: a row per subset and the mean, named with the subsets it averages."""
    at_k = result.get("at_k", 10)
    ndcg, mrr = f"ndcg@{at_k}", f"mrr@{at_k}"
    groups = _nanobeir_groups(result)
    base = _matching(result, baselines)
    base_groups = _nanobeir_groups(base) if base else {}
    subsets = result.get("datasets", [])
    rows = []
    for group, metrics in groups.items():
        base_value = base_groups.get(group, {}).get(ndcg)
        rows.append(
            {
                "subset": f"**mean of {len(subsets)}**" if group == "mean" else f"Nano{group}",
                "first_stage": _fmt(metrics.get(_SETTINGS["first_stage_appended"] + ndcg)),
                "ndcg": _fmt(metrics.get(ndcg)),
                "gain_first_stage": _gain(
                    metrics.get(ndcg), metrics.get(_SETTINGS["first_stage_appended"] + ndcg)
                ),
                "mrr": _fmt(metrics.get(mrr)),
                "map": _fmt(metrics.get("map")),
                "baseline": _fmt(base_value),
                "gain_baseline": _gain(metrics.get(ndcg), base_value),
            }
        )
    rows.sort(key=lambda row: row["subset"].startswith("**"))
    mean = groups.get("mean", {})
    return {
        "dataset": result["dataset"],
        "link": _link("dataset", result["dataset"], result.get("revision")),
        "revision": result.get("revision"),
        "subsets": subsets,
        "rerank_k": result.get("rerank_k"),
        "at_k": at_k,
        "ndcg": f"NDCG@{at_k}",
        "mrr": f"MRR@{at_k}",
        "rows": rows,
        "baseline": base is not None,
        "headline": {
            "evaluation": f"NanoBEIR, mean of {len(subsets)} ({', '.join(subsets)})",
            "metric": f"NDCG@{at_k}",
            "first_stage": mean.get(_SETTINGS["first_stage_appended"] + ndcg),
            "model": mean.get(ndcg),
            "baseline": base_groups.get("mean", {}).get(ndcg),
        },
    }


def _summary(reranking: list[dict], nanobeir: list[dict]) -> list[dict[str, str]]:
    """One headline row per evaluation: the model against the first stage and the base model."""
    rows = []
    for view in reranking + nanobeir:
        head = view["headline"]
        rows.append(
            {
                "evaluation": head["evaluation"],
                "metric": head["metric"],
                "first_stage": _fmt(head["first_stage"]),
                "baseline": _fmt(head["baseline"]),
                "model": _fmt(head["model"]),
                "gain_first_stage": _gain(head["model"], head["first_stage"]),
                "gain_baseline": _gain(head["model"], head["baseline"]),
            }
        )
    return rows


def _recipe_rows(recipe: dict, base: dict) -> list[tuple[str, str]]:
    """The recipe facts a reader looks for first: base model, loss, seed, world size, hardware, time."""
    env = recipe.get("environment") or {}
    training = recipe.get("training") or {}
    loss = recipe.get("loss") or {}
    params = loss.get("params") or {}
    args = recipe.get("args") or {}
    rows = [
        (
            "Base model",
            f"[{base['label']}]({base['link']}) at `{base['revision']}`" if base["link"] else base["label"],
        ),
        (
            "Loss",
            f"`{loss['name']}`" + (f" ({_kwargs(params)})" if params else "") if loss.get("name") else None,
        ),
        ("Max sequence length", (recipe.get("model") or {}).get("max_length")),
        ("Epochs", args.get("num_train_epochs")),
        ("Batch size per device", args.get("per_device_train_batch_size")),
        ("Learning rate", args.get("learning_rate")),
        ("Seed", recipe.get("seed", args.get("seed"))),
        ("World size", env.get("world_size")),
        ("Device", env.get("device")),
        ("Training rows", training.get("train_rows")),
        ("Optimizer steps", training.get("global_step")),
        ("Best step", training.get("best_step")),
        ("Training time", f"{training['runtime_s']:.0f} s" if "runtime_s" in training else None),
        (
            "Throughput",
            f"{training['samples_per_second']:.1f} samples/s" if "samples_per_second" in training else None,
        ),
    ]
    return [(name, _public(value)) for name, value in rows if value not in (None, "")]


def _hyperparameters(recipe: dict) -> list[tuple[str, str]]:
    args = recipe.get("args") or {}
    return [(key, _public(value)) for key, value in sorted(args.items()) if key not in _HIDDEN_ARGS]


def _versions(recipe: dict) -> list[tuple[str, str]]:
    env = recipe.get("environment") or {}
    names = {
        "python": "Python",
        "hubrerank": "hubrerank",
        "sentence_transformers": "sentence-transformers",
        "transformers": "transformers",
        "torch": "PyTorch",
        "datasets": "datasets",
        "huggingface_hub": "huggingface_hub",
        "platform": "platform",
    }
    return [(label, _public(env[key])) for key, label in names.items() if env.get(key)]


def _log_view(log: list[dict], recipe: dict) -> dict[str, Any]:
    """The training log as a compact table: step, epoch, training loss, validation loss, eval metric."""
    steps: dict[int, dict[str, Any]] = {}
    for entry in log:
        values = {k: v for k, v in entry.items() if k == "loss" or k.startswith("eval_")}
        if "step" in entry and values:
            steps.setdefault(int(entry["step"]), {"epoch": entry.get("epoch")}).update(values)
    metric = _log_metric(steps.values(), recipe)
    has_eval_loss = any("eval_loss" in row for row in steps.values())
    columns = ["Step", "Epoch", "Training loss"] + (["Validation loss"] if has_eval_loss else [])
    columns += [metric.removeprefix("eval_")] if metric else []
    best_step = (recipe.get("training") or {}).get("best_step")
    ordered = sorted(steps)
    every = math.ceil(len(ordered) / MAX_LOG_ROWS) if ordered else 1
    kept = [
        step
        for index, step in enumerate(ordered)
        if index % every == 0 or index == len(ordered) - 1 or step == best_step
    ]
    rows = []
    for step in kept:
        row = steps[step]
        cells = [str(step), _fmt(row.get("epoch"), 2), _fmt(row.get("loss"))]
        cells += [_fmt(row.get("eval_loss"))] if has_eval_loss else []
        cells += [_fmt(row.get(metric))] if metric else []
        rows.append([f"**{cell}**" for cell in cells] if step == best_step else cells)
    return {
        "columns": columns,
        "rows": rows,
        "total": len(ordered),
        "skipped": len(ordered) - len(kept),
        "best_step": best_step if best_step in kept else None,
    }


def _log_metric(rows: Iterable[dict], recipe: dict) -> str | None:
    """The eval metric the log table shows: the one that chose the best checkpoint, else an NDCG."""
    keys = list(dict.fromkeys(k for row in rows for k in row if k.startswith("eval_") and k != "eval_loss"))
    chosen = (recipe.get("args") or {}).get("metric_for_best_model")
    if chosen:
        for key in keys:
            if key in (chosen, f"eval_{chosen}"):
                return key
    return next((key for key in keys if "ndcg@" in key), None)


def _report_view(report: dict) -> dict[str, Any]:
    """A verification report as a heading, a one-line summary and its metric rows."""
    kind = {"verify": "Verification (re-evaluation)", "reproduce": "Reproduction (retraining)"}.get(
        report.get("kind"), str(report.get("kind", "report"))
    )
    verdict = report.get("verdict", "?")
    env = report.get("environment") or {}
    parts = [f"Verdict **{verdict}**"]
    if report.get("tolerance") is not None:
        parts.append(f"tolerance {report['tolerance']}")
    if env:
        parts.append("environment: " + ", ".join(f"{k} {_public(v)}" for k, v in env.items() if _scalar(v)))
    if report.get("ci_run_url"):
        parts.append(f"[CI run]({report['ci_run_url']})")
    rows = [
        [
            f"`{row.get('metric')}`",
            _fmt(row.get("claimed")),
            _fmt(row.get("measured")),
            _gain(row.get("measured"), row.get("claimed"))
            if row.get("delta") is None
            else _gain(row["delta"], 0),
            _fmt(row.get("tolerance")),
            "✅" if row.get("ok") else "❌",
        ]
        for row in report.get("rows", [])
    ]
    return {
        "title": f"{kind}: {verdict}" + (f" ({report['timestamp']})" if report.get("timestamp") else ""),
        "summary": "; ".join(parts) + ".",
        "rows": rows,
    }


# ---- helpers ------------------------------------------------------------------------------------------


def _nanobeir_groups(result: dict) -> dict[str, dict[str, float]]:
    """NanoBEIR metrics keyed by subset (``MSMARCO``, ...) or ``mean``, with plain metric names."""
    groups: dict[str, dict[str, float]] = {}
    for key, value in result.get("metrics", {}).items():
        match = _NANO_KEY.match(key)
        if match is None:
            continue
        subset, metric = match["subset"], match["metric"]
        if subset == "BEIR":
            aggregate, _, metric = metric.partition("_")
            subset = "mean" if aggregate == "mean" else aggregate
        groups.setdefault(subset, {})[metric] = value
    return groups


def _nanobeir_key(result: dict, group: str, metric: str) -> str:
    """The sentence-transformers name of a NanoBEIR metric, e.g. ``NanoMSMARCO_R100_ndcg@10``."""
    prefix = (
        f"NanoBEIR_R{result.get('rerank_k')}_mean"
        if group == "mean"
        else f"Nano{group}_R{result.get('rerank_k')}"
    )
    return f"{prefix}_{metric}"


def _matching(result: dict, baselines: list[dict]) -> dict | None:
    """The baseline result measured on exactly the same data as ``result``, if any."""
    keys = ("task", "dataset", "revision", "config", "split", "at_k", "datasets", "rerank_k")
    return next((b for b in baselines if all(b.get(k) == result.get(k) for k in keys)), None)


def _baseline_label(baseline: dict) -> str:
    model = baseline.get("model") or {}
    repo, sha = model.get("repo"), model.get("revision")
    if not repo or _is_local(repo):
        return "the base model"
    return f"[{repo}]({_link('model', repo, sha)})" + (f" at `{sha}`" if sha else "")


def _setting(metric: str) -> tuple[str, str]:
    """``realistic_ndcg@10`` -> ``("realistic_", "ndcg@10")``: a metric's setting prefix and bare name."""
    prefix = next(p for p in _SETTINGS.values() if metric.startswith(p))
    return prefix, metric.removeprefix(prefix)


def _metric_label(metric: str, setting: bool = True) -> str:
    """``realistic_ndcg@10`` -> ``NDCG@10 (realistic)``; with ``setting=False`` just ``NDCG@10``."""
    labels = {
        "realistic_base_": " (first stage)",
        "base_": " (first stage, missed positives appended)",
        "realistic_": " (realistic)",
        "": " (all positives)",
    }
    prefix, name = _setting(metric)
    pretty = {"map": "MAP", "mrr": "MRR", "ndcg": "NDCG", "hit_rate": "Hit rate"}
    head, at, k = name.partition("@")
    label = pretty.get(head, head) + at + k
    return label + labels[prefix] if setting else label


def _link(kind: str, repo: str, revision: str | None) -> str:
    """A root-relative Hub link to ``repo`` at ``revision``: it resolves on whichever Hub shows the card."""
    prefix = "/datasets/" if kind == "dataset" else "/"
    return f"{prefix}{repo}" + (f"/tree/{revision}" if revision else "")


def _is_local(text: str) -> bool:
    return text.startswith(("/", "~", ".")) or os.path.isabs(text) or bool(re.match(r"^[A-Za-z]:[\\/]", text))


def _public(value: Any) -> str:
    """A recipe value as shown in the card: local paths are reduced to their last component."""
    if isinstance(value, str) and _is_local(value):
        return f"<local>/{Path(value).name}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _kwargs(args: dict) -> str:
    return ", ".join(f"{key}={_public(value)}" for key, value in args.items())


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return _MISSING
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.{digits}f}"
    return str(value)


def _gain(value: Any, reference: Any) -> str:
    if not isinstance(value, int | float) or not isinstance(reference, int | float):
        return _MISSING
    return f"{value - reference:+.4f}"


def _as_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def _slug(repo: str) -> str:
    return repo.replace("/", "--")


def _redact(text: str, model_dir: Path) -> str:
    """Remove what must never reach a public card: tokens, local folders, a non-public endpoint URL."""
    secrets = [os.environ.get(name) for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")]
    for secret in filter(None, secrets):
        if len(secret) >= 8:
            text = text.replace(secret, "<redacted>")
    for folder in {str(model_dir.resolve()), str(model_dir.absolute())}:
        text = text.replace(folder, f"<local>/{model_dir.name}")
    endpoint = os.environ.get("HF_ENDPOINT", "").rstrip("/")
    if endpoint and endpoint != "https://huggingface.co":
        text = text.replace(endpoint, "")
    return text
