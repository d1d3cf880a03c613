"""`hubrerank verify` on the cards sentence-transformers 6.2 and 6.3 wrote for one reranker whose first stage
missed positives (tools/definition_cards.py), under either installed release.

Each tests/fixtures/definition_cards/<release>/ holds the README.md the release's CrossEncoderTrainer wrote
(CrossEncoderRerankingEvaluator with and without ``always_rerank_positives``, a realistic
CrossEncoderNanoBEIREvaluator), case.json and the dataset files it read. The weights are rebuilt here by
the tool's own deterministic builder and published with the committed card; the data goes under acme/,
where from-card looks for the evaluators' data (the model's namespace) and where the NanoBEIR evaluator's
``dataset_id`` points. The claims' numbers are the release's definition of NDCG and MAP
(hubrerank/evaluation/definitions.py), which verify must use whichever release is installed.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import run_cli

from hubrerank.evaluation.definitions import (
    ALL_POSITIVES,
    DEFINITIONS,
    LISTED_POSITIVES,
    definition_of_release,
)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "definition_cards"
RELEASES = sorted(path.parent.name for path in FIXTURES.glob("*/README.md"))
# the claims whose value depends on the definition on this data: NDCG and MAP of the lists that miss
# positives (the realistic reranking split, every NanoBEIR subset and their mean); never MRR, nor a list
# with every positive injected (the default evaluator on the dev split)
DEPENDS = re.compile(r"(definition-rerank:test/realistic_|^Nano\w+_R10_(mean_)?)(ndcg@10|map)$")


def _tool() -> Any:
    spec = importlib.util.spec_from_file_location("definition_cards", ROOT / "tools" / "definition_cards.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


tool = _tool()


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> tuple[Path, str]:
    """The tool's tiny reranker rebuilt (the weights every card's numbers were measured with), its digest."""
    folder = tmp_path_factory.mktemp("definition-cards") / "model"
    return folder, tool.build_model(folder)


def publish_release(
    release: str, weights: tuple[Path, str], card: str | None = None, suffix: str = ""
) -> str:
    """Publish the release's data under acme/ and the model with its card (``card`` replaces it):
    ``REPO@SHA``."""
    from hubrerank.hub import publish

    folder = FIXTURES / release
    case = json.loads((folder / "case.json").read_text())
    model, digest = weights
    assert case["model"]["weights_sha256"] == digest, "the builder no longer gives the weights of the card"
    for name, files in tool.read_data(folder / "data").items():
        publish(f"acme/{name}", files, repo_type="dataset", message=f"{name} as {release}'s run read it")
    files: dict[str, Path | bytes] = {path.name: path for path in model.iterdir() if path.is_file()}
    files["README.md"] = (card or (folder / "README.md").read_text()).encode()
    repo_id = f"acme/definition-card-{release.replace('.', '-')}{suffix}"
    return f"{repo_id}@{publish(repo_id, files, message='the card the release wrote').sha}"


def verify(ref: str, path: Path) -> tuple[Any, dict[str, Any]]:
    result = run_cli("verify", ref, "--json", str(path))
    return result, json.loads(path.read_text())


def install(monkeypatch: pytest.MonkeyPatch, definition: str) -> None:
    """hubrerank as installed with a release of ``definition``: what its evaluations compute by default."""
    for module in ("metrics", "nanobeir"):
        monkeypatch.setattr(f"hubrerank.evaluation.{module}.installed_definition", lambda: definition)


@pytest.mark.parametrize("release", RELEASES)
def test_a_card_of_either_release_passes_under_either_install(release, weights, hub, tmp_path, monkeypatch):
    """Every claim is re-measured under the definition of the release that wrote the card, the other
    definition's value shown where it differs, with the same rows whichever definition is installed."""
    from hubrerank.reproducibility.st_card import parse_card

    ref = publish_release(release, weights)
    claimed = definition_of_release(release)
    other = ({ALL_POSITIVES, LISTED_POSITIVES} - {claimed}).pop()
    card = parse_card((FIXTURES / release / "README.md").read_text())
    rows_by_install = {}
    for installed in DEFINITIONS:
        install(monkeypatch, installed)
        result, report = verify(ref, tmp_path / f"{installed}.json")

        assert result.exit_code == 0, result.output
        assert report["verdict"] == "PASS"
        assert "unchecked claims" not in report["caveats"]
        rows = report["rows"]
        assert len(rows) == len(card.claims) and all(row["measured"] is not None for row in rows)
        assert all(row["metric_definition"] == claimed for row in rows)
        for row in rows:
            differs = bool(DEPENDS.search(row["metric"]))
            assert bool(row["measured_under_other_definitions"]) == differs, row
            if differs:
                value = row["measured_under_other_definitions"][other]
                assert f"{row['metric']} under {other}: {value:.4f}" in result.output
        rows_by_install[installed] = rows
    metrics = {row["metric"] for row in rows_by_install[LISTED_POSITIVES]}
    assert {
        "acme/definition-rerank:test/realistic_ndcg@10",
        "acme/definition-rerank:dev/ndcg@10",
        "NanoMSMARCO_R10_ndcg@10",
        "NanoNFCorpus_R10_map",
        "NanoBEIR_R10_mean_ndcg@10",
        "NanoBEIR_R10_mean_map",
    } <= metrics
    assert rows_by_install[LISTED_POSITIVES] == rows_by_install[ALL_POSITIVES]


def test_the_two_releases_claim_different_numbers_for_the_same_model():
    """The data exercises the change: the same weights on the same data, two cards, other NDCG values."""
    from hubrerank.reproducibility.st_card import parse_card

    claims = {}
    for release in ("6.2.0", "6.3.0"):
        card = parse_card((FIXTURES / release / "README.md").read_text())
        claims[release] = {(claim.dataset, claim.metric): claim.value for claim in card.claims}
    assert claims["6.2.0"].keys() == claims["6.3.0"].keys()
    differ = {key for key in claims["6.2.0"] if claims["6.2.0"][key] != claims["6.3.0"][key]}
    assert ("NanoBEIR_R10_mean", "ndcg@10") in differ and ("definition-rerank-test", "ndcg@10") in differ
    assert not any(name == "definition-rerank-dev" or metric.startswith("mrr") for name, metric in differ)


def test_a_62_card_that_says_63_fails_and_names_the_definition(weights, hub, tmp_path):
    """The 6.2 card with its Framework Versions edited to 6.3.0 holds listed-positives numbers under an
    all-positives label: a FAIL whose likely cause names the definition the numbers are."""
    text = (FIXTURES / "6.2.0" / "README.md").read_text()
    edited = text.replace("- Sentence Transformers: 6.2.0\n", "- Sentence Transformers: 6.3.0\n")
    assert edited != text
    ref = publish_release("6.2.0", weights, edited, suffix="-says-6-3")

    result, report = verify(ref, tmp_path / "report.json")

    assert result.exit_code == 1, result.output
    assert report["verdict"] == "FAIL"
    failed = {row["metric"] for row in report["rows"] if not row["ok"]}
    assert failed and all(DEPENDS.search(metric) for metric in failed)
    assert "NanoBEIR_R10_mean_ndcg@10" in failed
    assert f"is the {LISTED_POSITIVES} value" in result.output and "likely cause: " in result.output
    assert len(report["likely_causes"]) == len(failed)
