"""The model kind seam: what training, evaluation, cards and card -> recipe need to know about a kind.

A kind is one :class:`KindSpec`, looked up by name with :func:`get_kind`. Modules dispatch on it instead
of naming sentence-transformers classes themselves, so a second kind (a bi-encoder retriever trained
with ``SentenceTransformerTrainer``, ``bi_encoder.py``) is one more spec module, not an ``if`` in every
module. Classes are named by import path and loaded on first use: importing this module does not import
the HF stack.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubrerank.errors import RecipeError

DEFAULT_KIND = "cross-encoder"  # what a recipe without model.kind trains
# the evaluation-plan tasks that are lists of dataset splits ({dataset, revision, config, split, ...}), and
# those of them that rank documents and so take a cut-off at_k (a triplet's accuracy has none)
# (encoder-reranking: a reranking split's lists ranked as a sparse or multi-vector kind's evaluator does)
ENCODER_RERANKING = "encoder-reranking"
SPLIT_TASKS = ("reranking", "retrieval", "triplet", ENCODER_RERANKING)
RANKED_TASKS = ("reranking", "retrieval", ENCODER_RERANKING)


@dataclass(frozen=True)
class KindSpec:
    """A trainable model kind (e.g. ``cross-encoder``), as sentence-transformers implements it."""

    name: str
    model_class: str  # "module:Class" of the model
    model_card_data_class: str  # its model card data (the trainer's card callbacks read it)
    trainer_class: str
    training_arguments_class: str
    losses_module: str  # the module whose public classes are the kind's losses
    in_training_evaluator: str  # the evaluator that picks the best checkpoint on the eval split
    card_tags: tuple[str, ...]  # tags of the cards hubrerank renders
    task_type: str  # pipeline tag and model-index task type (an encoder-reranking result's: a reranker's)
    st_model_type: str  # config_sentence_transformers.json's model_type for this kind
    st_evaluators: tuple[str, ...]  # evaluator classes a sentence-transformers trainer card may name
    st_card_tag: str  # the tag that marks a sentence-transformers trainer card of this kind
    st_card_modules: tuple[tuple[str, ...], ...]  # card module stacks a recipe rebuilds from the base model
    evaluation_task: str = "reranking"  # the evaluation-plan task its eval split is judged by
    model_keys: tuple[str, ...] = ("num_labels", "max_length")  # recipe model keys the model class takes
    max_length_attribute: str | None = None  # the model attribute model.max_length sets after loading
    best_metric: str = "ndcg@{k}"  # the in-training evaluator's metric that picks the best checkpoint
    # NanoBEIR: the sentence-transformers evaluator that runs it on this kind, and the task of its result
    nanobeir_evaluator: str = "sentence_transformers.cross_encoder.evaluation:CrossEncoderNanoBEIREvaluator"
    nanobeir_task: str = "nanobeir"
    # DDP: whether some parameters take no part in the loss (a BERT pooler under a bi-encoder's mean
    # pooling does not); True for a cross-encoder makes DDP fail ("marked ready twice")
    ddp_find_unused_parameters: bool = False
    # evaluation-plan tasks besides evaluation_task and nanobeir that judge this kind, each with the
    # "module:Class" of the sentence-transformers evaluator it re-runs (a bi-encoder's triplet accuracy)
    extra_evaluations: tuple[tuple[str, str], ...] = ()
    # the similarity the in-training retrieval evaluator scores by (its metric prefix, e.g. cosine_ndcg@10):
    # a bi-encoder's cosine, a sparse encoder's dot product, a multi-vector encoder's MaxSim (its own)
    retrieval_similarity: str = "cosine"
    # the tags sentence-transformers' card adds for the modules a model stacks, in its order ((module class,
    # tag): a sparse encoder's ``splade``, ``csr``), placed after the card tag ``architecture_tags_after``
    architecture_tags: tuple[tuple[str, str], ...] = ()
    architecture_tags_after: str = ""

    def card_tags_for(self, modules: Sequence[str]) -> list[str]:
        """The tags of a card hubrerank renders for a model of this kind stacking ``modules`` (the class
        names of its ``modules.json``): the kind's, with the architecture tags of those modules."""
        architecture = [tag for module, tag in self.architecture_tags if module in modules]
        if not architecture:
            return list(self.card_tags)
        at = self.card_tags.index(self.architecture_tags_after) + 1
        return [*self.card_tags[:at], *architecture, *self.card_tags[at:]]

    @property
    def evaluation_tasks(self) -> tuple[str, ...]:
        """The evaluation-plan tasks a recipe of this kind may name."""
        return (self.evaluation_task, "nanobeir", *(task for task, _ in self.extra_evaluations))

    @property
    def split_evaluators(self) -> dict[str, str]:
        """The evaluator class name each split task re-runs (``InformationRetrievalEvaluator``:
        ``retrieval``), as a sentence-transformers card names it."""
        evaluators = ((self.evaluation_task, self.in_training_evaluator), *self.extra_evaluations)
        return {path.rpartition(":")[2]: task for task, path in evaluators}

    def load(self, attribute: str) -> Any:
        """The class named by one of the ``*_class`` / ``*_evaluator`` fields, imported now."""
        return load_class(getattr(self, attribute))

    def task_evaluator(self, task: str) -> Any:
        """The evaluator class an extra evaluation task (``triplet``) re-runs, imported now."""
        return load_class(dict(self.extra_evaluations)[task])


def load_class(path: str) -> Any:
    """The class named ``"module:Class"``, imported now."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def kind_of_model(path: Path) -> KindSpec:
    """The kind of the model in ``path``; the default (cross-encoder) for a headless base, which
    :func:`hubrerank.evaluation.scoring.check_cross_encoder` then refuses."""
    from hubrerank.kinds.detect import model_kind

    kinds = _kinds()
    return kinds.get(model_kind(path), kinds[DEFAULT_KIND])


def kind_of_st_card(tags: list[str]) -> KindSpec | None:
    """The kind of a card sentence-transformers' trainer wrote (tag ``generated_from_trainer``), by its
    kind's tag; None for any other card."""
    if "generated_from_trainer" not in tags:
        return None
    return next((spec for spec in _kinds().values() if spec.st_card_tag in tags), None)


def get_kind(name: str) -> KindSpec:
    """The spec of kind ``name``; RecipeError listing the known kinds otherwise."""
    kinds = _kinds()
    if name not in kinds:
        raise RecipeError(f"unknown model kind {name!r}; hubrerank trains {', '.join(kinds)}")
    return kinds[name]


def _kinds() -> dict[str, KindSpec]:
    from hubrerank.kinds.bi_encoder import BI_ENCODER
    from hubrerank.kinds.cross_encoder import CROSS_ENCODER
    from hubrerank.kinds.multi_vector import MULTI_VECTOR
    from hubrerank.kinds.sparse_encoder import SPARSE_ENCODER

    return {spec.name: spec for spec in (CROSS_ENCODER, BI_ENCODER, SPARSE_ENCODER, MULTI_VECTOR)}
