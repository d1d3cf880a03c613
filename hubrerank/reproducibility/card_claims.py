"""Where a re-run of a recipe's evaluation plan measures each claim of a sentence-transformers card.

A card's claims are named by its evaluators' dataset names, and by the evaluator's task name (its
description, "Sparse Reranking"), which tells apart two evaluators run on one name (a retrieval and a
reranking evaluator both called ``<name>-<split>``). An evaluator called ``<name>-<split>`` ran on
split ``<split>`` of a dataset ``ORG/<name>`` (the naming convention hubrerank itself uses); NanoBEIR
evaluators are recognised by their subsets' names. :func:`match_claims` pairs them with plan entries;
the predicates here also tell :mod:`hubrerank.reproducibility.from_card` which evaluators it can re-run.
"""

from __future__ import annotations

import re
from typing import Any

from hubrerank.kinds.spec import KindSpec, get_kind
from hubrerank.reproducibility.st_card import CardEvaluator, ClaimSource, StCard

NANOBEIR_EVALUATOR = "CrossEncoderNanoBEIREvaluator"
NANO_SUBSET = re.compile(r"^Nano\w+_R\d+$")  # a NanoBEIR subset's evaluator name, e.g. NanoMSMARCO_R100
# the similarity an InformationRetrievalEvaluator metric is named by: cosine_ndcg@10
_SIMILARITY_PREFIX = re.compile(r"^(cosine|dot|euclidean|manhattan|maxsim)_")
# split-task evaluator parameters that change its numbers and hubrerank's re-run does not take (it runs
# TripletEvaluator with no margin, on whole embeddings); a card prints them only when they are set
_UNSET_SETTINGS = {
    "triplet": frozenset(("margin", "truncate_dim")),
    "encoder-reranking": frozenset(("max_active_dims", "truncate_dim", "token_pooling")),
}
# a bi-encoder NanoBEIR evaluator's names: NanoMSMARCO, ..., NanoBEIR_mean
BI_NANO_NAME = re.compile(r"^Nano[A-Z]\w*$")


def match_claims(card: StCard, plan: dict[str, Any]) -> dict[ClaimSource, tuple[str, int | None, str]]:
    """Where a re-run of ``plan`` measures each claimed evaluator: its claims' source (dataset name and
    task name) -> (task, index, metric prefix).

    An evaluator of a split task of the card's kind (the in-training evaluator: reranking for a
    cross-encoder, information retrieval for a bi-encoder; a bi-encoder's TripletEvaluator: triplet)
    ``<name>-<split>`` matches the plan entry of that task on split ``<split>`` of a dataset ``ORG/<name>``;
    evaluators left over match the entries of their task left over in order, when they are as many (one
    evaluator the card does not place, and one entry the user added for it). NanoBEIR subsets and
    their mean match the plan's ``nanobeir`` task when it ran with the same ``always_rerank_positives``.
    The prefix is ``realistic_`` for reranking evaluators that ran with ``always_rerank_positives=False``
    (NanoBEIR's keys are the same in either setting). Claimed evaluators that match nothing, or ran with
    settings the re-run does not take (a TripletEvaluator's margin), are left out.
    """
    spec = get_kind(card.kind)
    matches: dict[ClaimSource, tuple[str, int | None, str]] = {}
    entries = {task: list(enumerate(plan.get(task) or [])) for task in spec.split_evaluators.values()}
    pending: dict[str, list[tuple[ClaimSource, str]]] = {task: [] for task in entries}
    for source in dict.fromkeys(claim.source for claim in card.claims):
        name, evaluator = source.dataset, card.evaluator_of(source)
        if evaluator is None:
            continue
        prefix = "realistic_" if evaluator.always_rerank_positives is False else ""
        if evaluator.class_name == NANOBEIR_EVALUATOR or NANO_SUBSET.match(name):
            nano = plan.get("nanobeir")
            if nano and nano.get("always_rerank_positives", True) == (not prefix):
                matches[source] = ("nanobeir", None, "")
            continue
        if is_retrieval_nanobeir(spec, evaluator, name):
            subset = nanobeir_subset(name)
            if plan.get("nanobeir") and (subset is None or subset in plan["nanobeir"]["datasets"]):
                matches[source] = ("nanobeir", None, "")
            continue
        task = spec.split_evaluators.get(evaluator.class_name)
        if task is None or BI_NANO_NAME.match(name) or unset_settings(task, evaluator):
            continue
        index = next(
            (i for i, e in entries[task] if f"{e['dataset'].split('/')[-1]}-{e.get('split')}" == name), None
        )
        if index is None:
            pending[task].append((source, prefix))
        else:
            matches[source] = (task, index, prefix)
            entries[task] = [(i, e) for i, e in entries[task] if i != index]
    for task, sources in pending.items():
        if sources and len(sources) == len(entries[task]):
            for (source, prefix), (index, _) in zip(sources, entries[task], strict=True):
                matches[source] = (task, index, prefix)
    return matches


def unset_settings(task: str, evaluator: CardEvaluator) -> list[str]:
    """The parameters the card's evaluator ran with that hubrerank's re-run of ``task`` does not set."""
    return sorted(_UNSET_SETTINGS.get(task, frozenset()) & set(evaluator.config))


def nanobeir_subset(name: str) -> str | None:
    """The NanoBEIR subset (``msmarco``) a bi-encoder card's evaluator ``name`` stands for: NanoBEIREvaluator
    names each subset's InformationRetrievalEvaluator ``Nano{Name}`` (``NanoMSMARCO``); None for others."""
    from sentence_transformers.sentence_transformer.evaluation.nano_beir import DATASET_NAME_TO_HUMAN_READABLE

    subsets = {f"Nano{human}": subset for subset, human in DATASET_NAME_TO_HUMAN_READABLE.items()}
    return subsets.get(name)


def is_retrieval_nanobeir(spec: KindSpec, evaluator: CardEvaluator, name: str) -> bool:
    """True when ``name`` is a retriever's NanoBEIR result on the card: the mean of the kind's NanoBEIR
    evaluator (``NanoBEIR_mean``, NanoBEIREvaluator), or one of its subsets (``NanoMSMARCO``, measured by
    the kind's in-training evaluator, InformationRetrievalEvaluator)."""
    if evaluator.class_name == spec.nanobeir_evaluator.rpartition(":")[2]:
        return True
    rerun = spec.in_training_evaluator.rpartition(":")[2]
    return evaluator.class_name == rerun and nanobeir_subset(name) is not None


def retrieval_metric(card_metric: str) -> str:
    """hubrerank's name of an InformationRetrievalEvaluator metric (``cosine_ndcg@10``: ``ndcg@10``):
    hubrerank measures with the model's own similarity, the one the evaluator names by default."""
    return _SIMILARITY_PREFIX.sub("", card_metric)
