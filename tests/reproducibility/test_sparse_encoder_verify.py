"""A pushed sparse encoder (SPLADE) is verified (re-evaluated) and reproduced (retrained) like the other
kinds: its retrieval claims and its sparsity re-measured exactly, its weights retrained byte for byte."""

from __future__ import annotations

import json

import pytest
import yaml
from factories import build_tiny_mlm_base
from helpers import run_cli
from reproduce_fixtures import DATASET, write_recipe

from hubrerank.hub import publish


@pytest.fixture(scope="module")
def sparse_trained(hub, faq_data, tmp_path_factory) -> str:
    """A tiny SPLADE model trained from a masked-LM base with SpladeLoss around SparseCoSENTLoss on the
    labeled pairs, pushed; returns ``REPO@SHA``."""
    folder = tmp_path_factory.mktemp("sparse-trained")
    base = build_tiny_mlm_base(folder / "base")
    files = {path.relative_to(base).as_posix(): path for path in base.rglob("*") if path.is_file()}
    publish("alice/repro-mlm-base", files, message="Add a masked-LM base")
    recipe = write_recipe(
        folder,
        "alice/repro-mlm-base",
        model={"kind": "sparse-encoder", "max_length": 32},
        loss={
            "name": "SpladeLoss",
            "params": {"document_regularizer_weight": 3e-5, "query_regularizer_weight": 5e-5},
            "inner": {"name": "SparseCoSENTLoss"},
        },
        evaluation={"retrieval": [{"dataset": DATASET, "config": "rerank", "split": "test"}]},
    )
    result = run_cli("train", str(recipe), "--out", str(folder / "out"), "--push", "alice/repro-splade")
    assert result.exit_code == 0, result.output
    card = (folder / "out" / "README.md").read_text()
    assert "Retrieval: alice/repro-faq (test)" in card and "SparseInformationRetrievalEvaluator" in card
    return next(line for line in result.output.splitlines() if line.startswith("alice/repro-splade@"))


def test_verify_re_measures_the_retrieval_and_sparsity_claims(sparse_trained, tmp_path):
    report_path = tmp_path / "report.json"

    result = run_cli("verify", sparse_trained, "--json", str(report_path))

    assert result.exit_code == 0, result.output
    assert "alice/repro-faq:test/ndcg@10" in result.output and "PASS" in result.output
    report = json.loads(report_path.read_text())
    assert report["verdict"] == "PASS"
    metrics = {row["metric"] for row in report["rows"]}
    assert {"alice/repro-faq:test/accuracy@1", "alice/repro-faq:test/corpus_active_dims"} <= metrics
    assert all(row["delta"] == 0 for row in report["rows"])


@pytest.mark.slow
def test_reproduce_retrains_to_byte_identical_weights(sparse_trained, tmp_path):
    report_path = tmp_path / "report.json"

    result = run_cli("reproduce", sparse_trained, "--out", str(tmp_path / "out"), "--json", str(report_path))

    assert result.exit_code == 0, result.output
    assert "model.safetensors: byte-identical to the published weights" in result.output
    report = json.loads(report_path.read_text())
    assert report["verdict"] == "PASS" and report["weights"]["identical"]
    recorded = yaml.safe_load((tmp_path / "out" / "hubrerank.yaml").read_text())
    assert recorded["model"]["kind"] == "sparse-encoder"
