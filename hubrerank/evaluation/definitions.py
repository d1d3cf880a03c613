"""The two definitions of reranking NDCG and MAP, named, and which sentence-transformers release uses which.

sentence-transformers 6.3 changed what ``CrossEncoderRerankingEvaluator`` (and so
``CrossEncoderNanoBEIREvaluator``) means by NDCG@k and MAP when a query's known positives are not all in
the ranked list (a first stage missed some, ``always_rerank_positives=False`` or the first-stage ``base_``
numbers). The same scores on the same data give two numbers, so every such number hubrerank computes,
writes or reads carries the name of its definition (docs/metrics.md):

- ``listed-positives`` (sentence-transformers <= 6.2): NDCG@k and AP are normalised by the positives the
  ranked list contains; the evaluator's first-stage ``base_`` list has the missed positives appended.
- ``all-positives`` (sentence-transformers >= 6.3, and trec_eval over the full qrels): normalised by every
  known positive, those missing from the list included; ``base_`` is the list as retrieved.

MRR@k, hit rates, and every metric of a list that holds all the positives (the evaluator's default
``always_rerank_positives=True``) are the same under both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from packaging.version import InvalidVersion, Version

LISTED_POSITIVES: Final = "listed-positives"
ALL_POSITIVES: Final = "all-positives"
DEFINITIONS: Final = (LISTED_POSITIVES, ALL_POSITIVES)
# The first sentence-transformers release that normalises by all known positives.
ALL_POSITIVES_SINCE: Final = Version("6.3.0")
# What a record or result without a ``metric_definition`` was computed under: every hubrerank release
# before definitions were named implemented sentence-transformers 6.2's by hand.
UNRECORDED: Final = LISTED_POSITIVES
# Differences up to this are float rounding, not the definitions: each computes NDCG with other float
# operations (sklearn's ndcg_score; dcg_score over an ideal DCG summed by numpy), so a number that is the
# same under both, such as NDCG@3 of a list holding every positive, can differ in its last bits: the
# releases themselves give 0.3473504570311837 and 0.34735045703118367 (tests/fixtures/metric_definitions).
ROUNDING: Final = 1e-12
DESCRIPTIONS: Final = {
    LISTED_POSITIVES: "normalised by the positives in the ranked list (sentence-transformers <= 6.2)",
    ALL_POSITIVES: "normalised by all known positives, also those not listed (sentence-transformers >= 6.3)",
}


def definition_of_release(version: str) -> str:
    """The definition sentence-transformers ``version`` computes (``6.2.0`` -> listed-positives).

    A version that does not parse raises ValueError: the caller names where it came from.
    """
    try:
        parsed = Version(version)
    except InvalidVersion:
        raise ValueError(f"{version!r} is not a sentence-transformers version") from None
    return ALL_POSITIVES if parsed.release >= ALL_POSITIVES_SINCE.release else LISTED_POSITIVES


def installed_definition() -> str:
    """The definition of the installed sentence-transformers: what its evaluators compute today."""
    from importlib.metadata import version

    return definition_of_release(version("sentence-transformers"))


def differing(values: dict[str, float], reference: dict[str, float]) -> dict[str, float]:
    """The entries of ``values`` that differ from ``reference`` by more than float rounding: what another
    definition gives differently (``other_definitions``)."""
    return {key: value for key, value in values.items() if abs(value - reference[key]) > ROUNDING}


def other_definitions(
    by_definition: Mapping[str, dict[str, float]], chosen: str
) -> dict[str, dict[str, float]]:
    """``other_definitions`` of a result measured under every definition: for each definition but
    ``chosen``, the metrics that differ from ``chosen``'s beyond rounding (definitions that agree are left
    out)."""
    reference = by_definition[chosen]
    others = {name: differing(values, reference) for name, values in by_definition.items() if name != chosen}
    return {name: values for name, values in others.items() if values}


def recorded_definition(result: Mapping[str, Any]) -> str:
    """The definition a recorded reranking or NanoBEIR result's NDCG and MAP follow: its
    ``metric_definition``, else ``UNRECORDED`` (written before definitions were named)."""
    return str(result.get("metric_definition") or UNRECORDED)
