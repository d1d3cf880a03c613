"""A trained model's folder as `hubrerank train` leaves it: recipe, results and log, hand-written
(realistic values from the construction-FAQ measurements, docs/contracts.md formats)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

BASE_SHA = "1" * 40
TRAIN_SHA = "2" * 40
EVAL_SHA = "3" * 40
NANO_SHA = "4" * 40
BASELINE_SHA = BASE_SHA

RECIPE = {
    "hubrerank": 1,
    "name": "faq-reranker",
    "seed": 12,
    "base_model": {
        "repo": "sentence-transformers/all-MiniLM-L6-v2",
        "revision": BASE_SHA,
        "requested": "main",
    },
    "model": {"max_length": 256, "num_labels": 1},
    "train": [
        {"dataset": "acme/construction-faq", "revision": TRAIN_SHA, "requested": "v1", "split": "train"},
    ],
    "eval": {"dataset": "acme/construction-faq", "revision": TRAIN_SHA, "requested": "v1", "split": "dev"},
    "loss": {"name": "BinaryCrossEntropyLoss", "params": {"pos_weight": 4}},
    "args": {
        "num_train_epochs": 1,
        "per_device_train_batch_size": 16,
        "learning_rate": 2e-05,
        "warmup_ratio": 0.1,
        "eval_strategy": "steps",
        "eval_steps": 40,
        "logging_steps": 20,
        "load_best_model_at_end": True,
        "metric_for_best_model": "eval_construction-faq-dev_ndcg@10",
    },
    "evaluation": {
        "reranking": [
            {"dataset": "acme/construction-faq", "revision": EVAL_SHA, "split": "test", "at_k": 10}
        ],
        "nanobeir": {
            "dataset": "sentence-transformers/NanoBEIR-en",
            "revision": NANO_SHA,
            "datasets": ["msmarco", "nfcorpus", "nq"],
            "rerank_k": 100,
            "at_k": 10,
        },
    },
    "environment": {
        "python": "3.11.9",
        "platform": "Linux-6.1.0-x86_64-with-glibc2.36",
        "torch": "2.13.0+cpu",
        "transformers": "5.23.0",
        "sentence_transformers": "6.2.0",
        "datasets": "5.2.0",
        "huggingface_hub": "2.4.0",
        "hubrerank": "0.1.0",
        "device": "cpu",
        "world_size": 1,
    },
    "metrics": {"test_ndcg@10": 0.7412},
    "training": {
        "runtime_s": 99.4,
        "samples_per_second": 20.1,
        "global_step": 125,
        "best_step": 120,
        "best_metric": 0.7301,
        "train_rows": 1994,
    },
}


def reranking_metrics(scale: float) -> dict[str, float]:
    """Metrics of a reranking evaluation in its four settings (docs/contracts.md); ``scale`` moves the
    model's numbers, not the first stage's."""
    model = {"": 0.76 * scale, "realistic_": 0.7412 * scale, "base_": 0.725, "realistic_base_": 0.7011}
    metrics = {}
    for prefix, ndcg in model.items():
        metrics |= {f"{prefix}map": ndcg - 0.06, f"{prefix}mrr@10": ndcg - 0.04, f"{prefix}ndcg@10": ndcg}
        for k in range(1, 6):
            metrics[f"{prefix}hit_rate@{k}"] = min(1.0, ndcg - 0.2 + 0.05 * k)
            metrics[f"{prefix}mrr@{k}"] = ndcg - 0.2 + 0.02 * k
    return metrics


def nanobeir_metrics(scale: float) -> dict[str, float]:
    metrics = {}
    for name, bm25 in (("MSMARCO", 0.5138), ("NFCorpus", 0.3105), ("NQ", 0.5487)):
        for metric, value in (("map", 0.5), ("mrr@10", 0.55), ("ndcg@10", 0.6)):
            metrics[f"Nano{name}_R100_{metric}"] = value * scale
        metrics[f"Nano{name}_R100_base_ndcg@10"] = bm25
    for metric in ("map", "mrr@10", "ndcg@10", "base_ndcg@10"):
        values = [v for k, v in metrics.items() if k.startswith("Nano") and k.endswith(f"_R100_{metric}")]
        metrics[f"NanoBEIR_R100_mean_{metric}"] = sum(values) / len(values)
    return metrics


def results(scale: float) -> list[dict]:
    return [
        {
            "task": "reranking",
            "dataset": "acme/construction-faq",
            "revision": EVAL_SHA,
            "config": "default",
            "split": "test",
            "at_k": 10,
            "num_queries": 101,
            "queries_without_positives": 3,
            "metrics": reranking_metrics(scale),
            "versus_first_stage": {
                "metric": "realistic_ndcg@10",
                "queries": 101,
                "delta": 0.7412 * scale - 0.7011,
                "wins": 12,
                "losses": 7,
                "ties": 82,
                "p_value": 0.2412,
                "test": "paired randomization test",
            },
        },
        {
            "task": "nanobeir",
            "dataset": "sentence-transformers/NanoBEIR-en",
            "revision": NANO_SHA,
            "datasets": ["msmarco", "nfcorpus", "nq"],
            "rerank_k": 100,
            "at_k": 10,
            "metrics": nanobeir_metrics(scale),
        },
    ]


EVAL_RESULTS = {
    "hubrerank_version": "0.1.0",
    "model": None,
    "results": results(1.0),
    "baselines": [
        {
            "model": {"repo": "sentence-transformers/all-MiniLM-L6-v2", "revision": BASELINE_SHA},
            "results": results(0.4),
        }
    ],
}


def training_log() -> list[dict]:
    """transformers' log_history: a loss every 20 steps, an evaluation every 40, then the summary."""
    lines = []
    for step in range(20, 126, 20):
        lines.append(
            {"loss": round(1.2 - step / 250, 4), "learning_rate": 2e-5, "epoch": step / 125, "step": step}
        )
        if step % 40 == 0:
            lines.append(
                {
                    "eval_construction-faq-dev_ndcg@10": 0.6 + step / 1000,
                    "eval_runtime": 3.2,
                    "epoch": step / 125,
                    "step": step,
                }
            )
    lines.append({"train_runtime": 99.4, "train_loss": 0.9, "epoch": 1.0, "step": 125})
    return lines


def write_model_dir(folder: Path, recipe: dict = RECIPE, eval_results: dict = EVAL_RESULTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hubrerank.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    (folder / "eval_results.json").write_text(json.dumps(eval_results, indent=2))
    (folder / "training_log.jsonl").write_text("".join(json.dumps(line) + "\n" for line in training_log()))
    (folder / "model.safetensors").write_bytes(b"weights")
    return folder
