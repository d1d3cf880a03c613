"""`hubrerank verify` across precisions: a claim is re-measured in its own precision (a bfloat16 claim
recorded without its scheme: the whole model cast, as it was made) unless --dtype says otherwise, and then
the deltas are reported under the cross-precision tolerance."""

from __future__ import annotations

import json
import sqlite3

from helpers import run_cli
from reproduce_fixtures import publish_copy
from test_verify import table_row

from hubrerank.cards.model_card import render_model_card
from hubrerank.endpoint import hubrerank_home
from hubrerank.hashing import model_identity
from hubrerank.runtime import Variant

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
    assert (measured["dtype"], measured["dtype_scheme"]) == ("bfloat16", "linear")

    def claim_bfloat16(folder):  # the repo's record says its numbers were measured in bfloat16
        results = json.loads((folder / "eval_results.json").read_text())
        scheme = measured["dtype_scheme"]
        results["results"][0].update(dtype="bfloat16", dtype_scheme=scheme, metrics=measured["metrics"])
        (folder / "eval_results.json").write_text(json.dumps(results))
        card = render_model_card(folder, "alice/repro-bf16")
        assert "The model ran in **bfloat16** for these numbers" in str(card)
        (folder / "README.md").write_text(str(card))

    sha = publish_copy(trained, "alice/repro-bf16", tmp_path, claim_bfloat16)

    output, rows = _verify_passes(f"alice/repro-bf16@{sha}", tmp_path)

    assert "precision: claims made in bfloat16, re-measured in bfloat16" in output
    assert {(row["claimed_dtype"], row["measured_dtype"]) for row in rows} == {("bfloat16", "bfloat16")}
    assert all(row["tolerance"] == 0.001 and row["delta"] == 0 for row in rows)


def test_a_bfloat16_claim_recorded_without_its_scheme_is_re_measured_in_the_whole_cast(trained, tmp_path):
    from hubrerank.evaluation import run_evaluations

    whole = Variant("bfloat16", scheme="whole")

    def claim_whole_cast(folder):  # an entry written when --dtype bfloat16 cast the whole model
        results = json.loads((folder / "eval_results.json").read_text())
        entry = results["results"][0]
        plan = {
            "reranking": [{key: entry[key] for key in ("dataset", "revision", "config", "split", "at_k")}]
        }
        [made] = run_evaluations(folder, None, plan, cache=False, precision=whole)["results"]
        assert (made["dtype"], made["dtype_scheme"]) == ("bfloat16", "whole")
        entry.update(dtype="bfloat16", metrics=made["metrics"])  # no dtype_scheme: it predates it
        (folder / "eval_results.json").write_text(json.dumps(results))
        card = render_model_card(folder, "alice/repro-bf16-whole")
        assert "The model ran in **bfloat16 (whole model)** for these numbers" in str(card)
        (folder / "README.md").write_text(str(card))

    sha = publish_copy(trained, "alice/repro-bf16-whole", tmp_path, claim_whole_cast)

    output, rows = _verify_passes(f"alice/repro-bf16-whole@{sha}", tmp_path)

    assert "claims made in bfloat16 (whole model), re-measured in bfloat16 (whole model)" in output
    pair = ("bfloat16 (whole model)", "bfloat16 (whole model)")
    assert {(row["claimed_dtype"], row["measured_dtype"]) for row in rows} == {pair}
    assert all(row["tolerance"] == 0.001 and row["delta"] == 0 for row in rows)
    # re-measured in the whole cast: its scores are under the whole cast's key, the one it always had
    cache = sqlite3.connect(hubrerank_home() / "scores.sqlite")
    key = model_identity(trained.out) + "+bfloat16"
    assert cache.execute("SELECT COUNT(*) FROM logits WHERE model = ?", (key,)).fetchone()[0] > 0

    # --dtype bfloat16 re-measures it in the Linear-layer scheme, another precision than it was made in
    report_path = tmp_path / "report.json"
    linear = run_cli(
        "verify", f"alice/repro-bf16-whole@{sha}", "--dtype", "bfloat16", "--json", str(report_path)
    )
    assert "claims made in bfloat16 (whole model), re-measured in bfloat16;" in linear.output
    rows = json.loads(report_path.read_text())["rows"]
    assert {(row["claimed_dtype"], row["measured_dtype"]) for row in rows} == {
        ("bfloat16 (whole model)", "bfloat16")
    }
    assert all(row["tolerance"] == 0.01 for row in rows)


def _verify_passes(ref: str, tmp_path) -> tuple[str, list[dict]]:
    """``hubrerank verify REF --json``'s output and report rows, after checking it exits 0 (PASS)."""
    report_path = tmp_path / "report.json"
    result = run_cli("verify", ref, "--json", str(report_path))
    assert result.exit_code == 0, result.output
    return result.output, json.loads(report_path.read_text())["rows"]
