"""`hubrerank verify` across precisions: a claim is re-measured in its own precision unless --dtype says
otherwise, and then the deltas are reported under the cross-precision tolerance."""

from __future__ import annotations

import json
import sqlite3

from helpers import run_cli
from reproduce_fixtures import publish_copy
from test_verify import table_row

from hubrerank.cards.model_card import render_model_card
from hubrerank.endpoint import hubrerank_home
from hubrerank.hashing import model_identity

LABEL = "alice/repro-faq:test/ndcg@10"


def test_a_float32_claim_verified_in_bfloat16_reports_the_deltas(trained, tmp_path):
    report_path = tmp_path / "report.json"

    result = run_cli("verify", trained.ref, "--dtype", "bfloat16", "--json", str(report_path))

    # a verdict, with the deltas
    report = json.loads(report_path.read_text())
    assert result.exit_code == {"PASS": 0, "FAIL": 1}[report["verdict"]], result.output
    assert "precision: claims made in float32, re-measured in bfloat16" in result.output
    assert "tolerance of at least 0.01" in result.output
    [row] = [row for row in report["rows"] if row["metric"] == LABEL]
    assert (row["claimed_dtype"], row["measured_dtype"]) == ("float32", "bfloat16")
    assert row["tolerance"] == 0.01 and row["delta"] == row["measured"] - row["claimed"]
    # re-measured, not read back: its bfloat16 scores are in the cache (this model's metrics do not move)
    cache = sqlite3.connect(hubrerank_home() / "scores.sqlite")
    key = model_identity(trained.out) + "+bfloat16:linear"
    assert cache.execute("SELECT COUNT(*) FROM logits WHERE model = ?", (key,)).fetchone()[0] > 0
    assert table_row(result.output, LABEL)[4] == "0.01"
    assert report["tolerance_rules"]["cross_precision"] == 0.01

    # the user's tolerance applies across precisions too
    strict = run_cli("verify", trained.ref, "--dtype", "bfloat16", "--tolerance", "0")
    assert table_row(strict.output, LABEL)[4] == "0"


def test_a_claim_is_verified_in_the_precision_it_was_made_in(trained, tmp_path):
    bf16 = run_cli("eval", str(trained.out), "--data", "alice/repro-faq", "--config", "rerank", "--dtype",
                   "bfloat16", "--json", str(tmp_path / "bf16.json"))  # fmt: skip
    assert bf16.exit_code == 0, bf16.output
    [measured] = json.loads((tmp_path / "bf16.json").read_text())["results"]
    assert measured["dtype"] == "bfloat16"

    def claim_bfloat16(folder):  # the repo's record says its numbers were measured in bfloat16
        results = json.loads((folder / "eval_results.json").read_text())
        results["results"][0].update(dtype="bfloat16", metrics=measured["metrics"])
        (folder / "eval_results.json").write_text(json.dumps(results))
        card = render_model_card(folder, "alice/repro-bf16")
        assert "The model ran in **bfloat16** for these numbers" in str(card)
        (folder / "README.md").write_text(str(card))

    sha = publish_copy(trained, "alice/repro-bf16", tmp_path, claim_bfloat16)
    report_path = tmp_path / "report.json"

    result = run_cli("verify", f"alice/repro-bf16@{sha}", "--json", str(report_path))

    assert result.exit_code == 0, result.output
    assert "precision: claims made in bfloat16, re-measured in bfloat16" in result.output
    rows = json.loads(report_path.read_text())["rows"]
    assert {(row["claimed_dtype"], row["measured_dtype"]) for row in rows} == {("bfloat16", "bfloat16")}
    assert all(row["tolerance"] == 0.001 and row["delta"] == 0 for row in rows)
