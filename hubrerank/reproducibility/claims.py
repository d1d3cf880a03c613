"""What a model repo claims it measured, as :class:`Claim` s: from its ``eval_results.json`` (and the
card hubrerank rendered from it, where a hand edit makes a claim of its own), from the variants
``hubrerank export`` recorded, or from the ``model-index`` of a card sentence-transformers' trainer wrote
(each claim pointed at the plan entry that re-measures it, under the metric definition of the release
that wrote the card). :mod:`hubrerank.reproducibility.verify` checks them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hubrerank.cards.metrics import NANOBEIR_TASKS
from hubrerank.errors import InputError
from hubrerank.evaluation.definitions import UNRECORDED, definition_of_release, recorded_definition
from hubrerank.kinds.spec import KindSpec, get_kind
from hubrerank.record import CARD_FILE, VARIANTS_FILE, EvalResults, metric_key, result_identity
from hubrerank.runtime import DEFAULT_BACKEND, Variant, result_variant

if TYPE_CHECKING:
    from hubrerank.reproducibility.st_card import CardClaim, CardLibraryVersion, StCard

ST_DECIMALS = 4  # sentence-transformers rounds the model-index values to 4 decimals
DEFINED_TASKS = ("reranking", "nanobeir")  # the tasks whose NDCG and MAP have two definitions


@dataclass(frozen=True)
class Claim:
    """A metric a repo claims: the evaluation it comes from, its key in that result's metrics, its value.

    ``decimals`` is how far the claimed value was rounded (None: not rounded), which widens the tolerance
    by half a unit in the last place. ``definition`` is the metric definition the claim was made under
    (:mod:`hubrerank.evaluation.definitions`; None for a task whose metrics have one definition): the
    re-measured value it is compared with is the one under the same definition.
    """

    result: Mapping[str, Any]
    metric: str
    value: float
    source: str
    decimals: int | None = None
    definition: str | None = None

    @property
    def label(self) -> str:
        """The metric as hubrerank.yaml's metrics name it (:func:`hubrerank.record.metric_key`), and the
        variant file it was measured in unless torch."""
        variant = self.variant
        suffix = "" if variant.backend == DEFAULT_BACKEND else f" [{variant.file}]"
        return metric_key(self.result, self.metric) + suffix

    @property
    def variant(self) -> Variant:
        """The variant the claim was measured in (a result without ``dtype`` or ``backend``: float32 on
        torch; a ``dtype`` without ``dtype_scheme``: the whole model cast, :func:`result_variant`)."""
        return result_variant(self.result)

    @property
    def headline(self) -> bool:
        """True for the metrics a card shows first: MAP, MRR@k and NDCG@k of the model (not first stage),
        and a triplet evaluation's accuracies (all it measures)."""
        if self.result.get("task") == "triplet":
            return True
        at_k = self.result.get("at_k", 10)
        nanobeir = self.result.get("task") in NANOBEIR_TASKS
        name = self.metric.rsplit("_", 1)[-1] if nanobeir else self.metric
        return "base_" not in self.metric and name.removeprefix("realistic_") in (
            "map@100" if self.result.get("task") == "nanobeir-retrieval" else "map",
            f"mrr@{at_k}",
            f"ndcg@{at_k}",
        )


def claims_from_results(results: EvalResults, source: str) -> list[Claim]:
    """Every model metric of an eval_results.json document (first-stage ``base_`` metrics are not claims),
    under the definition its result records (a result from before definitions were named: the one
    hubrerank computed then, listed-positives)."""
    return [
        Claim(result_identity(result), metric, float(value), source, definition=result_definition(result))
        for result in results.get("results", [])
        for metric, value in result.get("metrics", {}).items()
        if "base_" not in metric and isinstance(value, int | float)
    ]


def claims_from_variants(folder: Path) -> list[Claim]:
    """The claims of every variant ``hubrerank export`` recorded in the folder's variants.json (none
    without one); each result records the variant's backend and file, so it is re-measured in it."""
    from hubrerank.variants import read_variants

    record = read_variants(folder)
    if record is None:
        return []
    return [
        claim
        for variant in record.variants
        for claim in claims_from_results(
            EvalResults(results=variant.results), f"{VARIANTS_FILE} ({variant.model_file})"
        )
    ]


def result_definition(result: Mapping[str, Any]) -> str | None:
    """The metric definition of a recorded result: its ``metric_definition``, else for the tasks that
    depend on one (reranking, NanoBEIR reranking) the definition hubrerank used before recording it."""
    return recorded_definition(result) if result.get("task") in DEFINED_TASKS else None


def claims_from_card(card_text: str, results: EvalResults, kind: KindSpec) -> list[Claim]:
    """The card's model-index numbers that differ from eval_results.json, as claims of their own.

    A card rendered by hubrerank carries the same numbers as eval_results.json; one edited by hand may
    not, and then both are checked. Each card entry is matched to a result and metric by rendering every
    claimed metric alone through :func:`hubrerank.cards.model_index_results` (for a model of ``kind``)
    and comparing the keys. The keys leave out the task type, which is the kind's on every entry (cards
    rendered before it was wrote a sparse or multi-vector encoder's retrieval as ``sentence-similarity``).
    """
    from hubrerank.cards.model_index import model_index_results

    card = _card_model_index(card_text)
    if not card:
        return []
    by_key: dict[tuple, tuple[Mapping[str, Any], str, float]] = {}
    for result in results.get("results", []):
        for metric, value in result.get("metrics", {}).items():
            for entry in model_index_results({"results": [{**result, "metrics": {metric: value}}]}, kind):
                by_key[_eval_result_key(entry)] = (result, metric, value)
    claims = []
    for entry in card:
        found = by_key.get(_eval_result_key(entry))
        if found is not None and found[2] != entry.metric_value:
            result, metric, _ = found
            claims.append(
                Claim(
                    result_identity(result),
                    metric,
                    float(entry.metric_value),
                    f"{CARD_FILE} model-index",
                    definition=result_definition(result),
                )
            )
    return claims


@dataclass(frozen=True)
class CardDefinition:
    """The metric definition a sentence-transformers card's numbers were computed under, and the release
    it is read from (recorded by the card, or guessed from its template)."""

    definition: str
    release: CardLibraryVersion


def card_definition(card: StCard) -> CardDefinition:
    """The definition of the sentence-transformers release that wrote ``card``."""
    from hubrerank.reproducibility.st_card import CardLibraryVersion

    release = card.library_version
    try:
        return CardDefinition(definition_of_release(release.version), release)
    except ValueError:
        guess = CardLibraryVersion(release.version, True, f"{release.why}; not a release, read as <= 6.2")
        return CardDefinition(UNRECORDED, guess)


def claims_from_st_card(card: StCard, plan: Mapping[str, Any]) -> tuple[list[Claim], list[str]]:
    """A sentence-transformers card's model-index claims, each pointed at the plan entry re-measuring it
    and made under the definition of the card's release (:func:`card_definition`), and the names of the
    claimed evaluators the plan does not re-run (their claims are left out)."""
    definition = card_definition(card).definition
    from hubrerank.reproducibility.card_claims import match_claims, retrieval_metric

    matches = match_claims(card, plan)
    nanobeir_task = get_kind(card.kind).nanobeir_task  # NanoBEIR reranking or retrieval, as the kind runs it
    claims = []
    unchecked = sorted({_source_label(card, claim) for claim in card.claims if claim.source not in matches})
    for claim in card.claims:
        if claim.source not in matches:
            continue
        task, index, prefix = matches[claim.source]
        if task == "triplet" and not _remeasured_triplet_metric(card, claim.dataset, claim.metric):
            unchecked.append(f"{claim.dataset} {claim.metric}")
            continue
        entry = plan["nanobeir"] if task == "nanobeir" else plan[task][index]
        if task == "nanobeir":
            metric = f"{claim.dataset}_{claim.metric}"
        else:
            metric = prefix + (retrieval_metric(claim.metric) if task == "retrieval" else claim.metric)
        result_task = nanobeir_task if task == "nanobeir" else task
        claims.append(
            Claim(
                result_identity({"task": result_task, **entry}),
                metric,
                claim.value,
                f"{CARD_FILE} model-index",
                ST_DECIMALS,
                definition if result_task in DEFINED_TASKS else None,
            )
        )
    return claims, unchecked


def _source_label(card: StCard, claim: CardClaim) -> str:
    """The evaluator of ``claim`` as a report names it: its dataset name, with its task name when another
    evaluator of the card ran on the same name."""
    shared = len({other.task for other in card.claims if other.dataset == claim.dataset}) > 1
    return f"{claim.dataset} ({claim.task})" if shared else claim.dataset


def _remeasured_triplet_metric(card: StCard, name: str, metric: str) -> bool:
    """True when the triplet re-run measures the card's ``metric`` of evaluator ``name``: an accuracy under
    one similarity, or ``max_accuracy`` when the card's evaluator ran with all four similarities (its
    maximum over fewer is another number)."""
    from hubrerank.evaluation.triplet import ACCURACY_METRICS, MAX_ACCURACY

    if metric != MAX_ACCURACY:
        return metric in ACCURACY_METRICS
    claimed = {claim.metric for claim in card.claims if claim.dataset == name}
    return set(ACCURACY_METRICS) <= claimed


def _card_model_index(card_text: str) -> list[Any]:
    from huggingface_hub.repocard_data import model_index_to_eval_results

    from hubrerank.reproducibility.st_card import front_matter

    index = front_matter(card_text).get("model-index")
    if not index:
        return []
    try:
        _, results = model_index_to_eval_results(index)
    except (KeyError, TypeError, ValueError):
        raise InputError(
            f"the {CARD_FILE} model-index is malformed; re-render the card (hubrerank card)"
        ) from None
    return results


def _eval_result_key(entry: Any) -> tuple:
    return (
        entry.task_name,
        entry.dataset_type,
        entry.dataset_revision,
        entry.dataset_config,
        entry.dataset_split,
        entry.dataset_name,
        entry.metric_type,
        entry.metric_name,
    )
