"""Tiny training data in every form, pushed to the session's Hub, and recipes that train on it in seconds.

Call :func:`training_repos` from a test that uses the ``hub`` fixture.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

import yaml
from factories import QA_TOPICS

TOPICS = QA_TOPICS
NEGATIVES = 3


def _negatives(index: int) -> list[str]:
    return [TOPICS[(index + step) % len(TOPICS)][1] for step in range(1, NEGATIVES + 1)]


def dataset_rows() -> dict[str, list[dict[str, Any]]]:
    pairs, tuples, lists, reranking = [], [], [], []
    for index, (query, positive) in enumerate(TOPICS):
        negatives = _negatives(index)
        scores = [0.9, *(0.1 * (step + 1) for step in range(NEGATIVES))]
        pairs.append(
            {"query": query, "passage": positive, "label": 1.0, "score": scores[0], "query_id": f"q{index}"}
        )
        pairs += [
            {"query": query, "passage": text, "label": 0.0, "score": score, "query_id": f"q{index}"}
            for text, score in zip(negatives, scores[1:], strict=True)
        ]
        tuples.append(
            {
                "query": query,
                "positive": positive,
                **{f"negative_{n + 1}": t for n, t in enumerate(negatives)},
            }
            | {"scores": scores}
        )
        lists.append(
            {
                "query": query,
                "documents": [positive, *negatives],
                "labels": [1.0] + [0.0] * NEGATIVES,
                "scores": scores,
            }
        )
        reranking.append(
            {
                "query_id": f"q{index}",
                "query": query,
                "positive": [positive],
                "negative": negatives,
                "documents": [*negatives[:2], positive, negatives[2]],
            }
        )
    return {"pairs": pairs, "tuples": tuples, "lists": lists, "reranking": reranking}


@functools.cache
def training_repos() -> dict[str, str]:
    """Dataset repos on the session Hub, one per form: form -> repo id (``train`` and ``test`` splits)."""
    from datasets import Dataset, DatasetDict

    repos = {}
    for form, rows in dataset_rows().items():
        repo_id = f"alice/tiny-{form}"
        dataset = Dataset.from_list(rows)
        DatasetDict({"train": dataset, "test": dataset}).push_to_hub(repo_id)
        repos[form] = repo_id
    return repos


def make_recipe(
    folder: Path,
    model: str,
    data: dict[str, str],
    *,
    form: str = "pairs",
    loss: dict[str, Any] | None = None,
    args: dict[str, Any] | None = None,
    name: str = "tiny",
    **extra: Any,
) -> Path:
    """A recipe training ``model`` on the ``form`` data for a few steps, evaluated on the reranking set."""
    recipe = {
        "hubrerank": 1,
        "name": name,
        "seed": 12,
        "base_model": {"repo": model},
        "model": {"max_length": 32},
        "train": {"dataset": data[form], "split": "train"},
        "eval": {"dataset": data["reranking"], "split": "test"},
        "loss": loss or {"name": "BCE", "params": {"pos_weight": 3}},
        "args": {
            "max_steps": 6,
            "per_device_train_batch_size": 4,
            "learning_rate": 1e-3,
            "eval_strategy": "steps",
            "eval_steps": 3,
            "logging_steps": 3,
            "disable_tqdm": True,
            **(args or {}),
        },
        **extra,
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def weights_sha256(folder: Path) -> str:
    return hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()


def push_folder(repo_id: str, folder: Path) -> str:
    """Publish every file of ``folder`` to the model repo ``repo_id``; return the commit sha."""
    from hubrerank.hub import publish

    files = {path.relative_to(folder).as_posix(): path for path in folder.rglob("*") if path.is_file()}
    return publish(repo_id, files, message=f"Add {folder.name}").sha
