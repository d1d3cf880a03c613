"""A recipe's data as the trainer and its in-training evaluator take it: each training split loaded at its
pinned sha, reduced to the columns the loss reads in the order it reads them, labels scaled and checked
(one line naming the dataset, column and row, and how to rebuild the data, before any training); and the
eval split as the kind's evaluator reads it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hubrerank.errors import InputError
from hubrerank.training.losses import BUILD_FORMAT, FORM_COLUMNS, LossInfo
from hubrerank.training.recipe import Recipe

if TYPE_CHECKING:
    from datasets import Dataset

_NEGATIVE_COLUMN = re.compile(r"negative_(\d+)")


def load_train_data(recipe: Recipe) -> Dataset | dict[str, Dataset]:
    """The training split(s), reduced to the columns the loss reads, in the order it reads them."""
    datasets = {}
    for node in recipe.train:
        dataset = load_split(node)
        columns = training_columns(
            dataset, recipe.loss, _describe(node, "train dataset"), node.get("label_column")
        )
        dataset = dataset.select_columns(columns)
        if "label_scale" in node:
            dataset = scale_labels(dataset, columns[-1], node["label_scale"])
        check_labels(dataset, recipe, columns[-1], _describe(node, "train dataset"))
        name = f"{node['dataset'].rsplit('/', 1)[-1]}-{node['split']}"
        name = name if name not in datasets else f"{name}-{len(datasets)}"
        datasets[name] = dataset
    return next(iter(datasets.values())) if len(datasets) == 1 else datasets


def load_eval_inputs(recipe: Recipe) -> dict[str, Any]:
    """The in-training evaluator's keyword arguments for the eval split, by the kind's evaluation task:
    reranking samples (CrossEncoderRerankingEvaluator) or a whole-split corpus
    (InformationRetrievalEvaluator, SparseInformationRetrievalEvaluator), scored by the kind's similarity
    (cosine, dot) like the recipe's best metric."""
    node = recipe.eval
    if recipe.kind.evaluation_task == "reranking":
        return {"samples": load_eval_samples(recipe), "at_k": node["at_k"]}
    from sentence_transformers.util import cos_sim, dot_score

    from hubrerank.evaluation.retrieval import evaluator_ks, load_retrieval_split

    similarity = recipe.kind.retrieval_similarity
    score = {"cosine": cos_sim, "dot": dot_score}.get(similarity)
    data = load_retrieval_split(node["dataset"], node["revision"], config=node["config"], split=node["split"])
    # MaxSim is not a function of two embedding matrices: the multi-vector evaluator takes it from the model
    scoring = {"score_functions": {similarity: score}} if score else {}
    return data.corpus.evaluator_inputs() | evaluator_ks(node["at_k"]) | scoring


def load_eval_samples(recipe: Recipe) -> list[dict[str, Any]]:
    """The eval split as CrossEncoderRerankingEvaluator samples; queries without a positive are skipped."""
    from hubrerank.evaluation.samples import load_reranking_data

    node = recipe.eval
    data = load_reranking_data(node["dataset"], node["revision"], config=node["config"], split=node["split"])
    samples = [row.sample() for row in data.rows if row.positive]
    if not samples:
        raise InputError(f"{_describe(node, 'eval dataset')} has no query with a positive document")
    return samples


def load_split(node: Mapping[str, Any]) -> Dataset:
    """A recipe's dataset entry loaded at its pinned sha; a one-line error naming what is missing."""
    from hubrerank.hub import load_dataset_split

    return load_dataset_split(node["dataset"], node["config"], node["split"], node["revision"])


def check_labels(dataset: Dataset, recipe: Recipe, column: str, where: str) -> None:
    """Refuse labels the loss cannot learn from, before training: BinaryCrossEntropyLoss takes targets in
    [0, 1] (graded labels such as 0..3 would train silently on nonsense), CrossEntropyLoss takes class ids
    below ``model.num_labels``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    name = recipe.loss.name
    if name not in ("BinaryCrossEntropyLoss", "CrossEntropyLoss") or column not in dataset.column_names:
        return
    values = dataset.data.table.column(column)
    if name == "BinaryCrossEntropyLoss":
        bad = pc.or_(pc.less(values, 0), pc.greater(values, 1))
        need = "targets in [0, 1]"
        fix = "scale them into [0, 1] (train[].label_scale) or use a loss for graded labels (MSELoss)"
    else:
        classes = recipe.model["num_labels"]
        bad = pc.or_(pc.less(values, 0), pc.greater_equal(values, classes))
        if pa.types.is_floating(values.type):
            bad = pc.or_(bad, pc.not_equal(pc.floor(values), values))
        need = f"class ids 0..{classes - 1} (model.num_labels {classes})"
        fix = "set model.num_labels to the number of classes, or map the labels to class ids"
    bad = pc.fill_null(bad, True)
    if len(bad) and pc.any(bad).as_py():
        row = pc.index(bad, True).as_py()
        raise InputError(
            f"{where}: {name} needs {need}, but column {column!r} holds {values[row].as_py()} "
            f"(row {row + 1}); {fix}"
        )


def scale_labels(dataset: Dataset, column: str, scale: float) -> Dataset:
    """``column`` (numbers or lists of numbers) multiplied by ``scale``.

    A listwise loss takes the softmax of its labels: a teacher's cosine similarities (between 0 and
    1) make an almost flat target unless scaled, e.g. by the 20 all-MiniLM-L6-v2 was trained with.
    """
    import pyarrow.compute as pc
    from datasets import Dataset

    table = dataset.data.table
    values = table.column(column)
    if values.type.num_fields:  # a list column: scale the child values, keep the offsets
        combined = values.combine_chunks()
        scaled = combined.from_arrays(combined.offsets, pc.multiply(combined.values, scale))
    else:
        scaled = pc.multiply(values, scale)
    return Dataset(table.set_column(table.schema.get_field_index(column), column, scaled))


def training_columns(
    dataset: Dataset, loss: LossInfo, where: str, label_column: str | None = None
) -> list[str]:
    """The columns ``loss`` takes from ``dataset``, inputs first (positionally), then its label column
    (``label_column`` when given, else the first of the loss's label columns the dataset has).

    Raise InputError saying how to rebuild the data when the dataset is not in the loss's form.
    """
    from datasets import Value

    features = dataset.features
    if loss.form == "labeled-pair":
        inputs = ["query", "passage"]
    elif loss.form == "triplet":
        inputs = [
            "query",
            "positive",
            next((n for n in ("negative_1", "negative") if n in features), "negative_1"),
        ]
    elif loss.form == "n-tuple":
        negatives = sorted(
            (name for name in features if _NEGATIVE_COLUMN.fullmatch(name)),
            key=lambda name: int(name.split("_")[1]),
        )
        inputs = ["query", "positive", *(negatives or (["negative"] if "negative" in features else []))]
    else:
        inputs = ["query", "documents"]
    wanted_labels = (label_column,) if label_column else loss.labels
    label = next((name for name in wanted_labels if name in features), None)

    def is_text(name: str) -> bool:
        feature = features.get(name)
        return isinstance(feature, Value) and feature.dtype in ("string", "large_string")

    def is_text_list(name: str) -> bool:
        inner = getattr(features.get(name), "feature", None)  # List(Value("string")) and the like
        return isinstance(inner, Value) and inner.dtype in ("string", "large_string")

    fits = all(is_text_list(name) if name == "documents" else is_text(name) for name in inputs)
    if fits and label is None and label_column in ("score", "scores"):
        raise InputError(
            f"{where} has no {label_column} column (the recipe's label_column); rebuild it with "
            f"`hubrerank data build ... --teacher MODEL --output-format {BUILD_FORMAT[loss.form]}`"
        )
    if not fits or (loss.labels and label is None):
        wanted = FORM_COLUMNS[loss.form] + (f" + {'|'.join(wanted_labels)}" if loss.labels else "")
        raise InputError(
            f"{where} has columns {', '.join(dataset.column_names)}, but {loss.name} trains on the "
            f"{loss.form} form ({wanted}); rebuild it with "
            f"`hubrerank data build ... --output-format {BUILD_FORMAT[loss.form]}`"
        )
    return [*inputs, label] if label else inputs


def _describe(node: Mapping[str, Any], kind: str) -> str:
    return (
        f"{kind} {node['dataset']}@{node['revision'][:12]} "
        f"(config {node['config'] or 'auto'}, split {node['split']})"
    )
