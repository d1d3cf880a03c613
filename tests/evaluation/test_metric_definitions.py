"""hubrerank's two definitions of reranking NDCG@k and MAP equal the real sentence-transformers releases'.

tests/fixtures/metric_definitions/ holds committed inputs (evaluator samples, a tiny NanoBEIR folder, the
fixed score of every pair) and, per release, what that release's own CrossEncoderRerankingEvaluator and
CrossEncoderNanoBEIREvaluator returned on them with a model of those scores (``st-<release>.json``,
written by tools/definition_fixtures.py in a venv of each release). Whichever release is installed here,
hubrerank under each release's definition must give that release's numbers, and note the other
release's where they differ.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, TypedDict, TypeVar, cast

import numpy as np
import pytest

from hubrerank.evaluation import evaluate_nanobeir, evaluate_rows, rows_from_samples
from hubrerank.evaluation.definitions import (
    ALL_POSITIVES,
    LISTED_POSITIVES,
    ROUNDING,
    definition_of_release,
)
from hubrerank.evaluation.scoring import Scorer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metric_definitions"
RELEASES = sorted(path.stem.removeprefix("st-") for path in FIXTURES.glob("st-*.json"))


class RerankingRun(TypedDict):
    """One CrossEncoderRerankingEvaluator call of the generator: its arguments and what it returned."""

    samples: str
    at_k: int
    always_rerank_positives: bool
    metrics: dict[str, float]


class NanoBEIRRun(TypedDict):
    """One CrossEncoderNanoBEIREvaluator call of the generator on the fixtures' ``nanobeir`` folder."""

    dataset_names: list[str]
    rerank_k: int
    at_k: int
    always_rerank_positives: bool
    metrics: dict[str, float]


class ReleaseOutputs(TypedDict):
    """``st-<release>.json``: the libraries the release ran with and every evaluator call."""

    generator: str
    versions: dict[str, str]
    reranking: list[RerankingRun]
    nanobeir: list[NanoBEIRRun]


@cache
def outputs(release: str) -> ReleaseOutputs:
    return cast(ReleaseOutputs, json.loads((FIXTURES / f"st-{release}.json").read_text()))


@cache
def samples() -> dict[str, list[dict[str, Any]]]:
    return json.loads((FIXTURES / "samples.json").read_text())


@cache
def scores() -> dict[str, dict[str, float]]:
    return json.loads((FIXTURES / "scores.json").read_text())


def fixed_scores(pairs: Sequence[Sequence[str]]) -> np.ndarray:
    """The fake model's float32 scores (the generator's, from scores.json); KeyError for any other pair."""
    return np.array([scores()[query][document] for query, document in pairs], dtype=np.float32)


class FixedModel:
    """The generator's fake model: all that the evaluators and evaluate_nanobeir use of a model, ``predict``
    (the fixed scores) and a ``model_card_data`` that keeps nothing."""

    class CardData:
        def set_evaluation_metrics(self, *_: Any) -> None:
            pass

    model_card_data = CardData()

    def predict(self, pairs: Sequence[Sequence[str]], **_: Any) -> np.ndarray:
        return fixed_scores(pairs)


def hubrerank_key(key: str, always_rerank_positives: bool) -> str:
    """The metric key of hubrerank's outcome that is the evaluator's ``key`` in this setting."""
    return key if key.startswith("base_") or always_rerank_positives else f"realistic_{key}"


def beyond_rounding(theirs: dict[str, float], mine: dict[str, float]) -> dict[str, float]:
    """The other release's numbers that differ from this one's by more than float rounding: the 6.2 and
    6.3 evaluators' NDCG@3 of lists holding every positive differ in the last bits, which is not a
    difference of definition (hubrerank noted it as one until it compared beyond ``ROUNDING``)."""
    return {key: value for key, value in theirs.items() if abs(value - mine[key]) > ROUNDING}


def other_releases(release: str) -> list[str]:
    """The committed releases of the other definition."""
    mine = definition_of_release(release)
    return [other for other in RELEASES if definition_of_release(other) != mine]


Run = TypeVar("Run", RerankingRun, NanoBEIRRun)


def matching(runs: Sequence[Run], run: Run) -> Run:
    """The run of ``runs`` with the same arguments as ``run``."""
    return next(r for r in runs if {**r, "metrics": None} == {**run, "metrics": None})


def reranking_cases() -> list[Any]:
    return [
        pytest.param(
            release,
            run,
            id=f"{release}-{run['samples']}-at{run['at_k']}-"
            f"{'injected' if run['always_rerank_positives'] else 'realistic'}",
        )
        for release in RELEASES
        for run in outputs(release)["reranking"]
    ]


def nanobeir_cases() -> list[Any]:
    return [
        pytest.param(
            release,
            run,
            id=f"{release}-at{run['at_k']}-{'injected' if run['always_rerank_positives'] else 'realistic'}",
        )
        for release in RELEASES
        for run in outputs(release)["nanobeir"]
    ]


def test_both_definitions_have_a_committed_release() -> None:
    assert {definition_of_release(release) for release in RELEASES} == {LISTED_POSITIVES, ALL_POSITIVES}
    for release in RELEASES:
        assert outputs(release)["versions"]["sentence-transformers"] == release


@pytest.mark.parametrize(
    ("version", "definition"),
    [
        ("5.1.2", LISTED_POSITIVES),
        ("6.2.0", LISTED_POSITIVES),
        ("6.2.1", LISTED_POSITIVES),
        ("6.2.0+local", LISTED_POSITIVES),
        ("6.3.0.dev0", ALL_POSITIVES),  # a pre-release of 6.3 carries its change
        ("6.3.0rc1", ALL_POSITIVES),
        ("6.3.0", ALL_POSITIVES),
        ("6.3.1", ALL_POSITIVES),
        ("7.0", ALL_POSITIVES),
    ],
)
def test_definition_of_release(version: str, definition: str) -> None:
    assert definition_of_release(version) == definition


def test_a_version_that_does_not_parse_is_refused() -> None:
    with pytest.raises(ValueError, match="'six' is not a sentence-transformers version"):
        definition_of_release("six")


@pytest.mark.parametrize(("release", "run"), reranking_cases())
def test_reranking_equals_the_release(release: str, run: RerankingRun) -> None:
    definition = definition_of_release(release)
    rows = rows_from_samples(samples()[run["samples"]])
    outcome = evaluate_rows(rows, fixed_scores, run["at_k"], definition)
    assert outcome.definition == definition
    always = run["always_rerank_positives"]
    for key, value in run["metrics"].items():
        assert outcome.metrics[hubrerank_key(key, always)] == value, key
    for other in other_releases(release):
        theirs = matching(outputs(other)["reranking"], run)["metrics"]
        noted = outcome.other_definitions.get(definition_of_release(other), {})
        expected = beyond_rounding(theirs, run["metrics"])
        evaluators = {hubrerank_key(key, always) for key in theirs}  # hubrerank notes more metrics
        assert {key: value for key, value in noted.items() if key in evaluators} == {
            hubrerank_key(key, always): value for key, value in expected.items()
        }, other


@pytest.mark.parametrize(("release", "run"), nanobeir_cases())
def test_nanobeir_equals_the_release(release: str, run: NanoBEIRRun) -> None:
    definition = definition_of_release(release)
    result = evaluate_nanobeir(
        cast(Scorer, FixedModel()),
        str(FIXTURES / "nanobeir"),
        subsets=run["dataset_names"],
        rerank_k=run["rerank_k"],
        at_k=run["at_k"],
        always_rerank_positives=run["always_rerank_positives"],
        metric_definition=definition,
    )
    assert result["metric_definition"] == definition
    assert result["metrics"] == run["metrics"]
    for other in other_releases(release):
        theirs = matching(outputs(other)["nanobeir"], run)["metrics"]
        expected = beyond_rounding(theirs, run["metrics"])
        noted = result.get("other_definitions", {}).get(definition_of_release(other), {})
        # a mean takes this definition's value for a subset the other gives within rounding of it
        assert noted == pytest.approx(expected, abs=ROUNDING), other
        assert set(noted) == set(expected), other


def test_the_fixtures_separate_the_definitions() -> None:
    """The releases differ exactly where docs/metrics.md says: NDCG and MAP of a list that misses
    positives (the realistic setting and the first stage's), never MRR, nor any metric of a list with
    every positive injected; and these fixtures exercise each of those differences."""
    listed, every = (
        outputs(next(r for r in RELEASES if definition_of_release(r) == name))
        for name in (LISTED_POSITIVES, ALL_POSITIVES)
    )
    differ: set[tuple[str, str]] = set()
    for run in [*listed["reranking"], *listed["nanobeir"]]:
        kind = "reranking" if "samples" in run else "nanobeir"
        theirs = matching(every[kind], run)["metrics"]
        for key, value in run["metrics"].items():
            base = key.startswith("base_") or "_base_" in key
            setting = "base" if base else "injected" if run["always_rerank_positives"] else "realistic"
            if abs(theirs[key] - value) > ROUNDING:
                differ.add((setting, key.rsplit("_", 1)[-1].split("@")[0]))
    assert differ == {(setting, metric) for setting in ("realistic", "base") for metric in ("ndcg", "map")}


def test_the_installed_release_gives_its_committed_numbers() -> None:
    """The committed outputs are what the library computes: the installed release, when it is one of
    them, returns them again."""
    from importlib.metadata import version

    from sentence_transformers.cross_encoder.evaluation import (
        CrossEncoderNanoBEIREvaluator,
        CrossEncoderRerankingEvaluator,
    )

    installed = version("sentence-transformers")
    if installed not in RELEASES:
        pytest.skip(f"no committed outputs of sentence-transformers {installed}")
    for run in outputs(installed)["reranking"]:
        evaluator = CrossEncoderRerankingEvaluator(
            samples()[run["samples"]],
            at_k=run["at_k"],
            always_rerank_positives=run["always_rerank_positives"],
            write_csv=False,
        )
        assert evaluator(FixedModel()) == run["metrics"]
    for nano in outputs(installed)["nanobeir"]:
        evaluator = CrossEncoderNanoBEIREvaluator(
            nano["dataset_names"],
            dataset_id=str(FIXTURES / "nanobeir"),
            rerank_k=nano["rerank_k"],
            at_k=nano["at_k"],
            always_rerank_positives=nano["always_rerank_positives"],
            write_csv=False,
        )
        assert evaluator(FixedModel()) == nano["metrics"]
