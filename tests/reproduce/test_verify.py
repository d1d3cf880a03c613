"""`hubrerank verify`: re-evaluate published weights, compare with the claims, publish the report."""

from __future__ import annotations

import json

from conftest import publish_copy
from helpers import run_cli


def test_verify_passes_on_a_freshly_trained_model(trained, tmp_path):
    report_path = tmp_path / "report.json"

    result = run_cli("verify", trained.ref, "--json", str(report_path))

    assert result.exit_code == 0, result.output
    assert "alice/repro-faq:test/ndcg@10" in result.output
    assert "PASS" in result.output
    report = json.loads(report_path.read_text())
    assert report["kind"] == "verify" and report["verdict"] == "PASS"
    assert report["model"]["revision"] == trained.sha
    assert report["tolerance"] == 0.001
    assert all(row["ok"] for row in report["rows"])
