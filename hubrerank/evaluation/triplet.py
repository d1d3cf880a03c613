"""Triplet accuracy of a bi-encoder, measured by sentence-transformers' own ``TripletEvaluator``.

A split's anchor, positive and negative are its first three string columns, in order: what
sentence-transformers' trainer feeds a loss (it reads inputs by position, not by name). A triplet counts as
correct when the model finds the anchor more similar to the positive than to the negative. The evaluator
runs with every similarity it knows (cosine, dot, euclidean, manhattan), so its metrics are
``cosine_accuracy``, ``dot_accuracy``, ``euclidean_accuracy``, ``manhattan_accuracy`` and ``max_accuracy``
(the best of the four): each is what a card claims when its evaluator ran with that similarity, since
sentence-transformers 3 the model's own (``cosine_accuracy`` for most models), before it all four and their
maximum. Embeddings go through the embedding cache of the :class:`~hubrerank.embeddings.Embedder`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hubrerank.embeddings import Embedder
from hubrerank.errors import InputError
from hubrerank.evaluation.samples import load_split
from hubrerank.kinds.spec import get_kind

SIMILARITIES = ("cosine", "dot", "euclidean", "manhattan")  # TripletEvaluator's similarity functions
ACCURACY_METRICS = tuple(f"{name}_accuracy" for name in SIMILARITIES)
MAX_ACCURACY = "max_accuracy"


@dataclass(frozen=True)
class TripletSplit:
    """A split's triplets and where they came from (``revision`` None for local data)."""

    anchors: list[str]
    positives: list[str]
    negatives: list[str]
    columns: tuple[str, str, str]
    dataset: str
    revision: str | None
    config: str
    split: str

    @property
    def name(self) -> str:
        """The evaluator's name: ``<dataset name>-<split>``, as hubrerank names evaluators."""
        return f"{self.dataset.rstrip('/').rsplit('/', 1)[-1]}-{self.split}"


def load_triplet_split(
    dataset: str, revision: str | None = None, *, config: str | None = None, split: str = "test"
) -> TripletSplit:
    """``split`` of ``dataset`` as triplets: its first three string columns; InputError naming the dataset,
    split and columns when it has fewer."""
    records, revision, config = load_split(dataset, revision, config=config, split=split)
    strings = [
        name
        for name, feature in records.features.items()
        if getattr(feature, "dtype", None) in ("string", "large_string")
    ]
    where = f"{dataset}@{revision[:12]}" if revision else dataset
    if len(strings) < 3:
        raise InputError(
            f"{where} split {split!r} has {len(strings)} string column(s) among its columns "
            f"{', '.join(records.column_names)}; evaluation.triplet reads anchor, positive and negative from "
            "the first three string columns"
        )
    if len(records) == 0:
        raise InputError(f"{where} split {split!r} has no rows; choose a split with triplets")
    anchor, positive, negative = strings[:3]
    return TripletSplit(
        list(records[anchor]),
        list(records[positive]),
        list(records[negative]),
        (anchor, positive, negative),
        dataset,
        revision,
        config,
        split,
    )


def evaluate_triplets(embedder: Embedder, data: TripletSplit) -> dict[str, float]:
    """TripletEvaluator's metrics on ``data`` for the bi-encoder of ``embedder``, without its name prefix."""
    evaluator = get_kind("bi-encoder").task_evaluator("triplet")(
        data.anchors,
        data.positives,
        data.negatives,
        name=data.name,
        batch_size=embedder.batch_size,
        write_csv=False,
        similarity_fn_names=list(SIMILARITIES),
    )
    metrics = evaluator(embedder)
    return {key.removeprefix(f"{data.name}_"): float(value) for key, value in metrics.items()}


def triplet_result(data: TripletSplit, metrics: Mapping[str, float], similarity: str) -> dict[str, Any]:
    """One triplet entry of eval_results.json; ``similarity`` is the model's own similarity function (the
    one its card's evaluator measured by default)."""
    return {
        "task": "triplet",
        "dataset": data.dataset,
        "revision": data.revision,
        "config": data.config,
        "split": data.split,
        "columns": list(data.columns),
        "num_triplets": len(data.anchors),
        "similarity": similarity,
        "metrics": dict(metrics),
    }


def triplet_headline(result: Mapping[str, Any]) -> str:
    """One line of a triplet result: its accuracies."""
    metrics = result["metrics"]
    accuracies = "  ".join(f"{key} {metrics[key]:.4f}" for key in ACCURACY_METRICS if key in metrics)
    return f"{result['dataset']}:{result['split']} triplets ({result['num_triplets']}): {accuracies}"
