"""The body of the model card: the values each template section shows, from the record and results."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hubrerank.cards.metrics import MISSING, SETTINGS, fmt, metric_label, nanobeir_groups
from hubrerank.evaluation.definitions import DESCRIPTIONS, LISTED_POSITIVES, recorded_definition
from hubrerank.runtime import result_variant

MAX_LOG_ROWS = 25
HIDDEN_ARGS = {
    "output_dir",
    "logging_dir",
    "run_name",
    "report_to",
    "push_to_hub",
    "hub_model_id",
    "hub_token",
}


def base_model(recipe: dict) -> dict[str, str | None]:
    """The base model: its repo id for the YAML, a label and a pinned link for the body."""
    base = recipe.get("base_model") or {}
    repo, sha = base.get("repo"), base.get("revision")
    if not repo:
        return {"id": None, "label": None, "link": None, "revision": None}
    if is_local(repo):
        return {"id": None, "label": f"a local model (`{Path(repo).name}`)", "link": None, "revision": None}
    return {"id": repo, "label": repo, "link": link("model", repo, sha), "revision": sha}


def train_dataset_rows(recipe: dict) -> list[dict[str, Any]]:
    """The Hub datasets the model was trained on, each with a link to its pinned revision."""
    train = recipe.get("train") or []
    out = []
    for entry in train if isinstance(train, list) else [train]:
        repo, sha = entry["dataset"], entry.get("revision")
        details = ", ".join(f"{key} `{entry[key]}`" for key in ("config", "split") if key in entry)
        if "label_column" in entry or "label_scale" in entry:
            scale = f" × {entry['label_scale']:g}" if "label_scale" in entry else ""
            details += f", labels `{entry.get('label_column', 'default')}`{scale}"
        out.append({"id": repo, "revision": sha, "link": link("dataset", repo, sha), "details": details})
    return out


def eval_dataset_rows(results: list[dict]) -> list[dict[str, str]]:
    seen = {(r["dataset"], r.get("revision")) for r in results if not is_local(r["dataset"])}
    return [{"id": repo, "revision": sha, "link": link("dataset", repo, sha)} for repo, sha in sorted(seen)]


def reranking_view(result: dict, baselines: list[dict]) -> dict[str, Any]:
    """One reranking evaluation: its metrics in the three settings, and the base model's when known."""
    metrics = result["metrics"]
    at_k = result.get("at_k", 10)
    names = ["map", f"mrr@{at_k}", f"ndcg@{at_k}"]
    cutoffs = sorted(
        {int(m.split("@")[1]) for m in metrics if re.fullmatch(r"(?:\w+_)?hit_rate@\d+", m)},
    )
    names += [f"{kind}@{k}" for kind in ("hit_rate", "mrr") for k in cutoffs if f"{kind}@{k}" not in names]
    base = matching(result, baselines)
    rows = []
    for name in names:
        row = {"metric": metric_label(name, setting=False)}
        row |= {setting: fmt(metrics.get(prefix + name)) for setting, prefix in SETTINGS.items()}
        if base is not None:
            row["baseline_realistic"] = fmt(base["metrics"].get(SETTINGS["realistic"] + name))
            row["baseline_all_positives"] = fmt(base["metrics"].get(name))
        rows.append(row)
    ndcg = f"ndcg@{at_k}"
    realistic = SETTINGS["realistic"] + ndcg in metrics
    headline = SETTINGS["realistic"] + ndcg if realistic else ndcg
    # like with like: the realistic ranking against the first stage's own order, when measured
    first_stage = metrics.get(SETTINGS["first_stage"] + ndcg) if realistic else None
    return {
        **data_fields(result),
        "at_k": at_k,
        "rows": rows,
        "versus": versus_view(result.get("versus_first_stage")),
        "correlation": correlation_view(result),
        "baseline": base is not None,
        **definition_fields(result),
        # sentence-transformers <= 6.2's "base": the first stage with the missed positives appended (under
        # all-positives its base is the first stage's own list, the First stage column)
        "appended": recorded_definition(result) == LISTED_POSITIVES
        and any(m.startswith(SETTINGS["first_stage_appended"]) for m in metrics),
        "headline": {
            "evaluation": f"{result['dataset']} ({result.get('split')})",
            "metric": metric_label(headline),
            "first_stage": metrics.get(SETTINGS["first_stage_appended"] + ndcg)
            if first_stage is None
            else first_stage,
            "model": metrics.get(headline),
            "baseline": base["metrics"].get(headline) if base else None,
        },
    }


def correlation_view(result: dict) -> dict[str, Any] | None:
    """Pearson and Spearman against the teacher scores (distillation), when the data carried them."""
    metrics = result["metrics"]
    if "pearson" not in metrics:
        return None
    return {
        "pearson": fmt(metrics["pearson"]),
        "spearman": fmt(metrics.get("spearman")),
        "pairs": result.get("teacher_pairs", MISSING),
    }


def retrieval_view(result: dict, baselines: list[dict]) -> dict[str, Any]:
    """One retrieval evaluation: each metric of the model, and of the base model when measured."""
    metrics = result["metrics"]
    base = matching(result, baselines)
    ndcg = f"ndcg@{result.get('at_k', 10)}"
    return {
        **data_fields(result),
        "corpus_size": result.get("corpus_size", MISSING),
        "rows": metric_rows(metrics, base),
        "baseline": base is not None,
        "headline": {
            "evaluation": f"{result['dataset']} ({result.get('split')}), retrieval",
            "metric": metric_label(ndcg, setting=False),
            "first_stage": None,
            "model": metrics.get(ndcg),
            "baseline": base["metrics"].get(ndcg) if base else None,
        },
    }


def encoder_reranking_view(result: dict, baselines: list[dict]) -> dict[str, Any]:
    """One encoder-reranking evaluation (a sparse or multi-vector encoder ranking each query's own
    positives and negatives): each metric of the model, and of the base model when measured."""
    metrics = result["metrics"]
    base = matching(result, baselines)
    ndcg = f"ndcg@{result.get('at_k', 10)}"
    return {
        **data_fields(result),
        "queries_left_out": result.get("queries_left_out"),
        "similarity": result.get("similarity"),
        "rows": metric_rows(metrics, base),
        "baseline": base is not None,
        "headline": {
            "evaluation": f"{result['dataset']} ({result.get('split')}), reranking",
            "metric": metric_label(ndcg, setting=False),
            "first_stage": None,
            "model": metrics.get(ndcg),
            "baseline": base["metrics"].get(ndcg) if base else None,
        },
    }


def triplet_view(result: dict, baselines: list[dict]) -> dict[str, Any]:
    """One triplet evaluation: each accuracy of the model, and of the base model when measured; the
    headline is the accuracy under the model's own similarity."""
    metrics = result["metrics"]
    base = matching(result, baselines)
    accuracy = f"{result.get('similarity') or 'cosine'}_accuracy"
    return {
        **data_fields(result),
        "columns": ", ".join(f"`{column}`" for column in result.get("columns", [])),
        "num_triplets": result.get("num_triplets", MISSING),
        "rows": metric_rows(metrics, base),
        "baseline": base is not None,
        "headline": {
            "evaluation": f"{result['dataset']} ({result.get('split')}), triplets",
            "metric": accuracy,
            "first_stage": None,
            "model": metrics.get(accuracy),
            "baseline": base["metrics"].get(accuracy) if base else None,
        },
    }


def metric_rows(metrics: dict[str, float], base: dict | None) -> list[dict[str, str]]:
    """A row per metric of a retrieval or triplet result: the model's value and the base model's."""
    return [
        {
            "metric": metric_label(name, setting=False),
            "model": fmt(value),
            "baseline": fmt(base["metrics"].get(name)) if base else MISSING,
        }
        for name, value in metrics.items()
    ]


def data_fields(result: dict) -> dict[str, Any]:
    """What a result's table heading says about its data: the dataset, its pinned link, config, split and
    how many queries it had (shared by the reranking and retrieval views)."""
    return {
        "dataset": result["dataset"],
        "link": link("dataset", result["dataset"], result.get("revision")),
        "revision": result.get("revision"),
        "config": result.get("config", "default"),
        "split": result.get("split"),
        "num_queries": result.get("num_queries", MISSING),
        "queries_without_positives": result.get("queries_without_positives"),
        # the precision the model ran in, when not float32 ("bfloat16 (whole model)" for the whole cast)
        "dtype": result_variant(result).dtype_label if result.get("dtype") else None,
    }


def definition_fields(result: dict) -> dict[str, str]:
    """The definition a result's NDCG and MAP follow, named and described, for its table's text."""
    definition = recorded_definition(result)
    return {"definition": definition, "definition_text": DESCRIPTIONS[definition]}


def versus_view(versus: dict | None) -> dict[str, Any] | None:
    """The paired test against the first stage (eval_results ``versus_first_stage``), ready to print."""
    if not versus:
        return None
    return {
        "metric": metric_label(versus["metric"], setting=False),
        "wins": versus["wins"],
        "losses": versus["losses"],
        "ties": versus["ties"],
        "queries": versus["queries"],
        "delta": f"{versus['delta']:+.4f}",
        "p_value": f"{versus['p_value']:.3g}",
        "test": versus["test"],
    }


def nanobeir_view(result: dict, baselines: list[dict]) -> dict[str, Any]:
    """One NanoBEIR evaluation: a row per subset and the mean, named with the subsets it averages.

    A retriever's (``similarity`` recorded) searches each subset's whole corpus: it has no BM25 column,
    its MAP is MAP@100 and its extra column the hit rate at 1."""
    at_k = result.get("at_k", 10)
    ndcg, mrr = f"ndcg@{at_k}", f"mrr@{at_k}"
    retrieval = bool(result.get("similarity"))
    average_precision = "map@100" if retrieval else "map"
    groups = nanobeir_groups(result)
    base = matching(result, baselines)
    base_groups = nanobeir_groups(base) if base else {}
    subsets = result.get("datasets", [])
    rows = []
    for group, metrics in groups.items():
        base_value = base_groups.get(group, {}).get(ndcg)
        rows.append(
            {
                "subset": f"**mean of {len(subsets)}**" if group == "mean" else f"Nano{group}",
                "first_stage": fmt(metrics.get(SETTINGS["first_stage_appended"] + ndcg)),
                "ndcg": fmt(metrics.get(ndcg)),
                "gain_first_stage": gain(
                    metrics.get(ndcg), metrics.get(SETTINGS["first_stage_appended"] + ndcg)
                ),
                "mrr": fmt(metrics.get(mrr)),
                "map": fmt(metrics.get(average_precision)),
                "hit": fmt(metrics.get("accuracy@1")),
                "baseline": fmt(base_value),
                "gain_baseline": gain(metrics.get(ndcg), base_value),
            }
        )
    rows.sort(key=lambda row: row["subset"].startswith("**"))
    mean = groups.get("mean", {})
    return {
        "dataset": result["dataset"],
        "link": link("dataset", result["dataset"], result.get("revision")),
        "revision": result.get("revision"),
        "subsets": subsets,
        "rerank_k": result.get("rerank_k"),
        "always_rerank_positives": result.get("always_rerank_positives", True),
        **({} if retrieval else definition_fields(result)),
        "retrieval": retrieval,
        "similarity": result.get("similarity"),
        "at_k": at_k,
        "ndcg": f"NDCG@{at_k}",
        "mrr": f"MRR@{at_k}",
        "rows": rows,
        "baseline": base is not None,
        "headline": {
            "evaluation": f"NanoBEIR{' retrieval' if retrieval else ''}, mean of {len(subsets)} "
            f"({', '.join(subsets)})",
            "metric": f"NDCG@{at_k}",
            "first_stage": mean.get(SETTINGS["first_stage_appended"] + ndcg),
            "model": mean.get(ndcg),
            "baseline": base_groups.get("mean", {}).get(ndcg),
        },
    }


def summary(*views: list[dict]) -> list[dict[str, str]]:
    """One headline row per evaluation (the views of each task in turn): the model against the first stage
    and the base model."""
    rows = []
    for view in (view for task_views in views for view in task_views):
        head = view["headline"]
        rows.append(
            {
                "evaluation": head["evaluation"],
                "metric": head["metric"],
                "first_stage": fmt(head["first_stage"]),
                "baseline": fmt(head["baseline"]),
                "model": fmt(head["model"]),
                "gain_first_stage": gain(head["model"], head["first_stage"]),
                "gain_baseline": gain(head["model"], head["baseline"]),
            }
        )
    return rows


def recipe_rows(recipe: dict, base: dict) -> list[tuple[str, str]]:
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
            f"`{loss['name']}`" + (f" ({kwargs(params)})" if params else "") if loss.get("name") else None,
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
    return [(name, public(value)) for name, value in rows if value not in (None, "")]


def hyperparameters(recipe: dict) -> list[tuple[str, str]]:
    args = recipe.get("args") or {}
    return [(key, public(value)) for key, value in sorted(args.items()) if key not in HIDDEN_ARGS]


def versions(recipe: dict) -> list[tuple[str, str]]:
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
    return [(label, public(env[key])) for key, label in names.items() if env.get(key)]


def log_view(log: list[dict], recipe: dict) -> dict[str, Any]:
    """The training log as a compact table: step, epoch, training loss, validation loss, eval metric."""
    steps: dict[int, dict[str, Any]] = {}
    for entry in log:
        values = {k: v for k, v in entry.items() if k == "loss" or k.startswith("eval_")}
        if "step" in entry and values:
            steps.setdefault(int(entry["step"]), {"epoch": entry.get("epoch")}).update(values)
    loss_label = "Training loss"
    run_means = [entry for entry in log if "train_loss" in entry and "step" in entry]
    if run_means and not any("loss" in row for row in steps.values()):
        # logging_steps beyond the run's length: the trainer logged no step loss, only the run's mean
        final = run_means[-1]
        steps.setdefault(int(final["step"]), {"epoch": final.get("epoch")})["loss"] = final["train_loss"]
        loss_label = "Training loss (mean of the run)"
    metric = log_metric(steps.values(), recipe)
    has_eval_loss = any("eval_loss" in row for row in steps.values())
    columns = ["Step", "Epoch", loss_label] + (["Validation loss"] if has_eval_loss else [])
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
        cells = [str(step), fmt(row.get("epoch"), 2), fmt(row.get("loss"))]
        cells += [fmt(row.get("eval_loss"))] if has_eval_loss else []
        cells += [fmt(row.get(metric))] if metric else []
        rows.append([f"**{cell}**" for cell in cells] if step == best_step else cells)
    return {
        "columns": columns,
        "rows": rows,
        "total": len(ordered),
        "skipped": len(ordered) - len(kept),
        "best_step": best_step if best_step in kept else None,
    }


def log_metric(rows: Iterable[dict], recipe: dict) -> str | None:
    """The eval metric the log table shows: the one that chose the best checkpoint, else an NDCG."""
    keys = list(dict.fromkeys(k for row in rows for k in row if k.startswith("eval_") and k != "eval_loss"))
    chosen = (recipe.get("args") or {}).get("metric_for_best_model")
    if chosen:
        for key in keys:
            if key in (chosen, f"eval_{chosen}"):
                return key
    return next((key for key in keys if "ndcg@" in key), None)


def report_view(report: dict) -> dict[str, Any]:
    """A verification report as a heading, a one-line summary and its metric rows."""
    kind = {"verify": "Verification (re-evaluation)", "reproduce": "Reproduction (retraining)"}.get(
        report.get("kind"), str(report.get("kind", "report"))
    )
    verdict = report.get("verdict", "?")
    env = report.get("environment") or {}
    meaning = {"PASS": "reproduced", "FAIL": "not reproduced", "ERROR": "could not be checked"}
    parts = [
        f"Verdict **{verdict}**"
        + (f" (the claimed numbers {meaning[verdict]})" if verdict in meaning else "")
    ]
    if report.get("tolerance") is not None:
        parts.append(f"tolerance {report['tolerance']}")
    if env:
        parts.append("environment: " + ", ".join(f"{k} {public(v)}" for k, v in env.items() if scalar(v)))
    if report.get("ci_run_url"):
        parts.append(f"[CI run]({report['ci_run_url']})")
    rows = [
        [
            f"`{row.get('metric')}`",
            fmt(row.get("claimed")),
            fmt(row.get("measured")),
            gain(row.get("measured"), row.get("claimed"))
            if row.get("delta") is None
            else gain(row["delta"], 0),
            fmt(row.get("tolerance")),
            "✅" if row.get("ok") else "❌",
        ]
        for row in report.get("rows", [])
    ]
    return {
        "title": f"{kind}: {verdict}" + (f" ({report['timestamp']})" if report.get("timestamp") else ""),
        "summary": "; ".join(parts) + ".",
        "rows": rows,
    }


def matching(result: dict, baselines: list[dict]) -> dict | None:
    """The baseline result measured on exactly the same data as ``result``, if any."""
    keys = ("task", "dataset", "revision", "config", "split", "at_k", "datasets", "rerank_k")
    return next((b for b in baselines if all(b.get(k) == result.get(k) for k in keys)), None)


def baseline_label(baseline: dict) -> str:
    model = baseline.get("model") or {}
    repo, sha = model.get("repo"), model.get("revision")
    if not repo or is_local(repo):
        return "the base model"
    return f"[{repo}]({link('model', repo, sha)})" + (f" at `{sha}`" if sha else "")


def link(kind: str, repo: str, revision: str | None) -> str:
    """A root-relative Hub link to ``repo`` at ``revision``: it resolves on whichever Hub shows the card."""
    prefix = "/datasets/" if kind == "dataset" else "/"
    return f"{prefix}{repo}" + (f"/tree/{revision}" if revision else "")


def is_local(text: str) -> bool:
    return text.startswith(("/", "~", ".")) or os.path.isabs(text) or bool(re.match(r"^[A-Za-z]:[\\/]", text))


def public(value: Any) -> str:
    """A recipe value as shown in the card: local paths are reduced to their last component."""
    if isinstance(value, str) and is_local(value):
        return f"<local>/{Path(value).name}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def kwargs(args: dict) -> str:
    return ", ".join(f"{key}={public(value)}" for key, value in args.items())


def scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def gain(value: Any, reference: Any) -> str:
    if not isinstance(value, int | float) or not isinstance(reference, int | float):
        return MISSING
    return f"{value - reference:+.4f}"


def as_list(value: Any) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)
