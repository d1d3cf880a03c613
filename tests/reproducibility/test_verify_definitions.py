"""verify compares every claim under the metric definition it was made in, whichever release is installed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from helpers import run_cli
from reproduce_fixtures import publish_copy

from hubrerank.reproducibility.claims import Claim, card_definition, claims_from_results
from hubrerank.reproducibility.tolerances import verify_tolerances
from hubrerank.reproducibility.verify import Report, compare

LISTED, ALL = "listed-positives", "all-positives"
CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "st_cards"
RESULT = {"task": "reranking", "dataset": "acme/d", "revision": "a" * 40, "config": "default", "split": "t"}


def measured(definition: str, value: float, other: float) -> dict:
    other_name = ALL if definition == LISTED else LISTED
    return {
        "results": [
            {
                **RESULT,
                "at_k": 10,
                "metric_definition": definition,
                "metrics": {"realistic_ndcg@10": value, "realistic_mrr@10": 0.5},
                "other_definitions": {other_name: {"realistic_ndcg@10": other}},
            }
        ]
    }


@pytest.mark.parametrize("installed", [LISTED, ALL])
def test_a_claim_is_compared_with_the_value_under_its_own_definition(installed):
    listed_value, all_value = 0.66, 0.62
    values = (listed_value, all_value) if installed == LISTED else (all_value, listed_value)
    here = measured(installed, *values)
    claims = [
        Claim(RESULT, "realistic_ndcg@10", listed_value, "card", definition=LISTED),
        Claim(RESULT, "realistic_ndcg@10", all_value, "card", definition=ALL),
        Claim(RESULT, "realistic_mrr@10", 0.5, "card", definition=ALL),
    ]
    checks = compare(claims, here, verify_tolerances())
    assert [check.ok for check in checks] == [True, True, True]
    assert checks[0].other_definitions == {ALL: all_value}
    assert checks[1].other_definitions == {LISTED: listed_value}
    assert checks[2].other_definitions == {}  # MRR is the same under both
    assert checks[0].as_row()["metric_definition"] == LISTED


def test_a_result_recorded_before_definitions_were_named_is_listed_positives():
    results = {"results": [{**RESULT, "metrics": {"realistic_ndcg@10": 0.6}}]}
    retrieval = {"results": [{**RESULT, "task": "retrieval", "metrics": {"ndcg@10": 0.6}}]}
    assert claims_from_results(results, "eval_results.json")[0].definition == LISTED
    assert claims_from_results(retrieval, "eval_results.json")[0].definition is None


def test_a_claim_of_the_other_definition_is_named_as_the_likely_cause():
    from hubrerank.refs import ResolvedRef

    # the claim says listed-positives but holds the all-positives number
    claim = Claim(RESULT, "realistic_ndcg@10", 0.62, "card", definition=LISTED)
    report = Report("verify", ResolvedRef("acme/m", "b" * 40, "model"), verify_tolerances())
    report.checks = compare([claim], measured(ALL, 0.62, 0.66), verify_tolerances())
    assert report.verdict == "FAIL"
    assert report.likely_causes == [
        "acme/d:t/realistic_ndcg@10: the claim 0.6200 is the all-positives value (0.6200), not the "
        "listed-positives one the claim's source implies"
    ]


@pytest.mark.parametrize(("release", "definition"), [("6.2.0", LISTED), ("6.3.0", ALL), ("5.0.0", LISTED)])
def test_a_card_is_read_under_its_release_definition_or_a_named_guess(release, definition):
    from hubrerank.reproducibility.st_card import parse_card

    text = (CORPUS / release / "bce-reranking" / "README.md").read_text()
    recorded = card_definition(parse_card(text))
    assert (recorded.definition, recorded.release.version, recorded.release.guessed) == (
        definition,
        release,
        False,
    )
    without_versions = re.sub(r"### Framework Versions\n(?:- .*\n)+", "", text)
    guessed = card_definition(parse_card(without_versions))
    assert guessed.release.guessed and guessed.definition == definition


@pytest.fixture(scope="module")
def missed_positives(trained, hub):
    """Reranking data whose first stage missed some positives (so the two definitions differ), pushed as
    alice/definitions-eval, and the trained model's record re-made for it: (evaluation entry, results)."""
    from evaluation.evaluation_fixtures import dataset_card, parquet_bytes, reranking_records

    from hubrerank.evaluation import run_evaluations
    from hubrerank.hub import publish

    files = {
        "README.md": dataset_card({"default": ["test"]}),
        "default/test.parquet": parquet_bytes(reranking_records()),
    }
    data = publish("alice/definitions-eval", files, repo_type="dataset", message="data")
    entry = {"dataset": data.repo_id, "revision": data.sha, "config": "default", "split": "test", "at_k": 10}
    results = run_evaluations(trained.out, trained.sha, {"reranking": [entry]}, model_repo=trained.repo_id)
    assert results["results"][0]["other_definitions"], "the data must tell the definitions apart"
    return entry, results


def _recorded_for(entry: dict, results: dict, as_other: bool):
    """An edit of the model folder: its record evaluates ``entry`` and claims ``results`` (rewritten as the
    other definition would have written them when ``as_other``)."""

    def edit(folder: Path) -> None:
        record = yaml.safe_load((folder / "hubrerank.yaml").read_text())
        record["evaluation"] = {"reranking": [{**entry, "requested": entry["revision"]}]}
        (folder / "hubrerank.yaml").write_text(yaml.safe_dump(record, sort_keys=False))
        document = json.loads(json.dumps(results))
        if as_other:
            for result in document["results"]:
                ours = result["metric_definition"]
                [(other, values)] = result["other_definitions"].items()
                changed = {key: result["metrics"][key] for key in values}
                result["metrics"] |= values
                result["metric_definition"], result["other_definitions"] = other, {ours: changed}
        (folder / "eval_results.json").write_text(json.dumps(document))

    return edit


@pytest.mark.parametrize("installed", [LISTED, ALL])
@pytest.mark.parametrize("recorded_as_other", [False, True])
def test_a_model_whose_numbers_are_right_passes_under_either_install(
    trained, missed_positives, tmp_path, monkeypatch, installed, recorded_as_other
):
    """The record may be written under either definition, hubrerank installed with either release."""
    entry, results = missed_positives
    repo_id = f"alice/repro-definition-{installed}-{int(recorded_as_other)}"
    sha = publish_copy(trained, repo_id, tmp_path, _recorded_for(entry, results, recorded_as_other))
    monkeypatch.setattr("hubrerank.evaluation.metrics.installed_definition", lambda: installed)
    report_path = tmp_path / "report.json"

    result = run_cli("verify", f"{repo_id}@{sha}", "--json", str(report_path))

    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    recorded = results["results"][0]["metric_definition"]
    claimed = ({LISTED, ALL} - {recorded}).pop() if recorded_as_other else recorded
    rows = [row for row in report["rows"] if row["metric"].endswith("realistic_ndcg@10")]
    assert rows and all(row["metric_definition"] == claimed for row in rows)
    assert all(row["measured_under_other_definitions"] for row in rows)
    assert f"NDCG and MAP compared under the claims' definition: {claimed}" in result.output


def test_a_claim_under_the_wrong_definition_fails_and_names_the_cause(trained, missed_positives, tmp_path):
    """A record that says listed-positives next to all-positives numbers (or the reverse) is a FAIL whose
    report says the numbers are the other definition's."""
    entry, results = missed_positives
    document = json.loads(json.dumps(results))
    result = document["results"][0]
    [(other, values)] = result.pop("other_definitions").items()
    result["metrics"] |= values  # the other definition's numbers, still labelled as this one's
    repo_id = "alice/repro-definition-mislabelled"
    sha = publish_copy(trained, repo_id, tmp_path, _recorded_for(entry, document, False))

    outcome = run_cli("verify", f"{repo_id}@{sha}")

    assert outcome.exit_code == 1, outcome.output
    assert f"is the {other} value" in outcome.output
