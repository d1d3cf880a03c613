"""A pushed bi-encoder retriever is verified (re-evaluated) and reproduced (retrained) like a reranker."""

from __future__ import annotations

import json

import pytest
import yaml
from helpers import run_cli
from reproduce_fixtures import DATASET, write_recipe


@pytest.fixture(scope="module")
def bi_trained(hub, tiny_bi_encoder, faq_data, tmp_path_factory) -> str:
    """A tiny bi-encoder trained with CoSENTLoss on the labeled pairs, pushed; returns ``REPO@SHA``."""
    folder = tmp_path_factory.mktemp("bi-trained")
    recipe = write_recipe(
        folder,
        tiny_bi_encoder.repo_id,
        model={"kind": "bi-encoder", "max_length": 32},
        loss={"name": "CoSENTLoss"},
        evaluation={"retrieval": [{"dataset": DATASET, "config": "rerank", "split": "test"}]},
    )
    result = run_cli("train", str(recipe), "--out", str(folder / "out"), "--push", "alice/repro-retriever")
    assert result.exit_code == 0, result.output
    card = (folder / "out" / "README.md").read_text()
    assert "Retrieval: alice/repro-faq (test)" in card
    return next(line for line in result.output.splitlines() if line.startswith("alice/repro-retriever@"))


def test_verify_re_measures_the_retrieval_claims(bi_trained, tmp_path):
    report_path = tmp_path / "report.json"

    result = run_cli("verify", bi_trained, "--json", str(report_path))

    assert result.exit_code == 0, result.output
    assert "alice/repro-faq:test/ndcg@10" in result.output and "PASS" in result.output
    report = json.loads(report_path.read_text())
    assert report["verdict"] == "PASS"
    metrics = {row["metric"] for row in report["rows"]}
    assert {"alice/repro-faq:test/accuracy@1", "alice/repro-faq:test/map@100"} <= metrics
    assert all(row["delta"] == 0 for row in report["rows"])


def test_reproduce_retrains_to_byte_identical_weights(bi_trained, tmp_path):
    report_path = tmp_path / "report.json"

    result = run_cli("reproduce", bi_trained, "--out", str(tmp_path / "out"), "--json", str(report_path))

    assert result.exit_code == 0, result.output
    assert "model.safetensors: byte-identical to the published weights" in result.output
    report = json.loads(report_path.read_text())
    assert report["verdict"] == "PASS" and report["weights"]["identical"]
    recorded = yaml.safe_load((tmp_path / "out" / "hubrerank.yaml").read_text())
    assert recorded["model"]["kind"] == "bi-encoder"
