"""A tiny dataset and a model trained on it with `hubrerank train --push`, shared by the reproduce tests.

The dataset ``alice/repro-faq`` has two configs: ``pairs`` (labeled pairs, split ``train``) and
``rerank`` (the reranking form, split ``test``), so the evaluator hubrerank names ``repro-faq-test``
follows the ``<dataset name>-<split>`` convention a sentence-transformers card is read with.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from factories import QA_TOPICS

DATASET = "alice/repro-faq"
TOPICS = QA_TOPICS[:10]


@dataclass(frozen=True)
class Trained:
    """A model hubrerank trained and pushed: its repo, commit, output folder and the recipe file."""

    repo_id: str
    sha: str
    out: Path
    recipe: Path

    @property
    def ref(self) -> str:
        return f"{self.repo_id}@{self.sha}"


def _rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    pairs, reranking = [], []
    for index, (query, positive) in enumerate(TOPICS):
        negatives = [TOPICS[(index + step) % len(TOPICS)][1] for step in (1, 2, 3)]
        pairs.append({"query": query, "passage": positive, "label": 1.0})
        pairs += [{"query": query, "passage": text, "label": 0.0} for text in negatives]
        reranking.append(
            {
                "query_id": f"q{index}",
                "query": query,
                "positive": [positive],
                "negative": negatives,
                "documents": [negatives[0], positive, *negatives[1:]],
            }
        )
    return pairs, reranking


@pytest.fixture(scope="session")
def faq_data(hub) -> str:
    """``alice/repro-faq`` on the session Hub; returns its commit sha."""
    from datasets import Dataset

    from hubrerank.hub import resolve

    pairs, reranking = _rows()
    Dataset.from_list(pairs).push_to_hub(DATASET, config_name="pairs", split="train")
    Dataset.from_list(reranking).push_to_hub(DATASET, config_name="rerank", split="test")
    return resolve(DATASET, "dataset").sha


def write_recipe(folder: Path, base_model: str, **extra: Any) -> Path:
    """A recipe training ``base_model`` for 6 steps on the pairs, evaluated on the reranking split after
    training only (no checkpoints: the tests are about reproducing, not about choosing a checkpoint)."""
    recipe = {
        "hubrerank": 1,
        "name": "repro",
        "seed": 12,
        "base_model": {"repo": base_model},
        "model": {"max_length": 32},
        "train": {"dataset": DATASET, "config": "pairs", "split": "train"},
        "loss": {"name": "BinaryCrossEntropyLoss", "params": {"pos_weight": 3}},
        "args": {
            "max_steps": 6,
            "per_device_train_batch_size": 4,
            "learning_rate": 1e-3,
            "disable_tqdm": True,
        },
        "evaluation": {"reranking": [{"dataset": DATASET, "config": "rerank", "split": "test"}]},
        **extra,
    }
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def trained(hub, tiny_cross_encoder, faq_data, tmp_path_factory) -> Trained:
    """The recipe trained once and pushed as ``alice/repro-model``."""
    from hubrerank.training.recipe import load_recipe
    from hubrerank.training.trainer import train

    folder = tmp_path_factory.mktemp("trained")
    recipe = write_recipe(folder, tiny_cross_encoder.repo_id)
    result = train(load_recipe(recipe), folder / "out", push="alice/repro-model", echo=lambda _: None)
    return Trained(result.pushed.repo_id, result.pushed.sha, result.output_dir, recipe)


def publish_copy(trained: Trained, repo_id: str, folder: Path, edit=None) -> str:
    """Publish a copy of the trained model folder as ``repo_id`` (after ``edit(copy)``); return the sha."""
    from hubrerank.hub import publish

    copy = folder / repo_id.replace("/", "--")
    shutil.copytree(trained.out, copy)
    if edit is not None:
        edit(copy)
    files = {path.relative_to(copy).as_posix(): path for path in copy.rglob("*") if path.is_file()}
    return publish(repo_id, files, message="copy").sha
