"""`hubrerank reproduce`: retrain from the published recipe and compare numbers, environment and weights."""

from __future__ import annotations

import json

import pytest
import yaml
from helpers import run_cli


def test_reproduce_passes_with_byte_identical_weights_on_cpu(trained, tmp_path):
    report_path = tmp_path / "report.json"

    result = run_cli("reproduce", trained.ref, "--out", str(tmp_path / "out"), "--json", str(report_path))

    assert result.exit_code == 0, result.output
    assert "environment: the same as the original run" in result.output
    assert "model.safetensors: byte-identical to the published weights" in result.output
    assert "tolerances: default for retraining in the same CPU environment" in result.output
    report = json.loads(report_path.read_text())
    assert report["kind"] == "reproduce" and report["verdict"] == "PASS"
    assert report["weights"]["identical"] and report["weights"]["expected_identical"]
    assert all(row["delta"] == 0 for row in report["rows"])
    assert report["environment"]["device"] == "cpu" and report["environment_differences"] == {}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": {"max_length": 32, "trust_remote_code": True}}, "a recipe cannot ask for remote code"),
        ({"loss": {"name": "EvilLoss"}}, "EvilLoss"),
    ],
    ids=["remote-code", "unknown-loss"],
)
def test_recipes_with_remote_code_or_an_unknown_loss_are_refused(trained, tmp_path, change, message):
    recipe = yaml.safe_load(trained.recipe.read_text()) | change
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))

    result = run_cli("reproduce", trained.ref, "--recipe", str(path), "--out", str(tmp_path / "out"))

    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "out").exists()


def test_a_recipe_naming_a_branch_is_resolved_and_reported_unpinned(trained, tmp_path):
    report_path = tmp_path / "report.json"

    result = run_cli("verify", trained.ref, "--recipe", str(trained.recipe), "--json", str(report_path))

    assert result.exit_code == 0, result.output
    assert "warning: evaluation.reranking[0] names alice/repro-faq@main, not a commit" in result.output
    [unpinned] = json.loads(report_path.read_text())["unpinned"]
    assert unpinned["requested"] == "main" and len(unpinned["resolved"]) == 40
