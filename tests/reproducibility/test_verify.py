"""`hubrerank verify`: re-evaluate published weights, compare with the claims, publish the report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from helpers import run_cli
from huggingface_hub import HfApi
from reproduce_fixtures import publish_copy


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


def table_row(output: str, label: str) -> list[str]:
    """The cells of the verdict table's row for ``label`` (cells are separated by 2+ spaces)."""
    [row] = [
        re.split(r"\s{2,}", line.strip()) for line in output.splitlines() if line.startswith(label + "  ")
    ]
    return row


def _tamper_results(folder):
    path = folder / "eval_results.json"
    results = json.loads(path.read_text())
    results["results"][0]["metrics"]["ndcg@10"] += 0.05
    path.write_text(json.dumps(results))


def _tamper_card(folder):
    path = folder / "README.md"
    header, _, body = path.read_text().removeprefix("---\n").partition("\n---\n")
    data = yaml.safe_load(header)
    for result in data["model-index"][0]["results"]:
        for metric in result["metrics"]:
            if metric["type"] == "ndcg@10":
                metric["value"] += 0.05
    path.write_text("---\n" + yaml.safe_dump(data, sort_keys=False) + "---\n" + body)


@pytest.mark.parametrize(("edit", "source"), [(_tamper_results, ""), (_tamper_card, " (card)")])
def test_a_tampered_claim_fails_and_shows_the_difference(trained, tmp_path, edit, source):
    repo_id = f"alice/repro-tampered{source.strip(' ()')}"
    sha = publish_copy(trained, repo_id, tmp_path, edit)

    result = run_cli("verify", f"{repo_id}@{sha}", "--push-report", "--tag", "v-bad")

    assert result.exit_code == 1, result.output
    cells = table_row(result.output, f"alice/repro-faq:test/ndcg@10{source}")
    assert cells[3:] == ["-0.0500", "0.001", "NO"]
    assert "FAIL" in result.output
    # the failure is published, but the release tag is not created
    assert "v-bad" not in [tag.name for tag in HfApi().list_repo_refs(repo_id).tags]
    assert any(p.startswith("reproductions/") for p in HfApi().list_repo_files(repo_id))


def test_a_deleted_data_revision_cannot_be_checked(trained, faq_data, tmp_path):
    from datasets import load_dataset

    from hubrerank.hub import resolve

    rerank = load_dataset("alice/repro-faq", "rerank", split="test", revision=faq_data)
    rerank.push_to_hub("alice/repro-gone", config_name="rerank", split="test")
    gone = resolve("alice/repro-gone", "dataset").sha

    def point_at_gone(folder):
        record = yaml.safe_load((folder / "hubrerank.yaml").read_text())
        record["evaluation"]["reranking"][0].update(dataset="alice/repro-gone", revision=gone)
        (folder / "hubrerank.yaml").write_text(yaml.safe_dump(record, sort_keys=False))
        results = json.loads((folder / "eval_results.json").read_text())
        results["results"][0].update(dataset="alice/repro-gone", revision=gone)
        (folder / "eval_results.json").write_text(json.dumps(results))

    sha = publish_copy(trained, "alice/repro-orphan", tmp_path, point_at_gone)
    HfApi().delete_repo("alice/repro-gone", repo_type="dataset")
    report = tmp_path / "report.json"

    result = run_cli("verify", f"alice/repro-orphan@{sha}", "--json", str(report))

    assert result.exit_code == 2, result.output
    [line] = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert "the evaluation data cannot be read" in line and "alice/repro-gone" in line
    assert json.loads(report.read_text())["verdict"] == "ERROR"


def test_push_report_adds_one_commit_and_leaves_the_weights(trained, tmp_path):
    repo_id = "alice/repro-report"
    sha = publish_copy(trained, repo_id, tmp_path)
    api = HfApi()
    before = api.list_repo_commits(repo_id)
    [weights_before] = api.get_paths_info(repo_id, ["model.safetensors"], revision=sha)

    result = run_cli("verify", f"{repo_id}@{sha}", "--push-report", "--tag", "v1.0")

    assert result.exit_code == 0, result.output
    after = api.list_repo_commits(repo_id)
    assert len(after) == len(before) + 1
    head = after[0].commit_id
    [weights_after] = api.get_paths_info(repo_id, ["model.safetensors"], revision=head)
    assert weights_after.lfs.sha256 == weights_before.lfs.sha256
    changed = set(api.list_repo_files(repo_id, revision=head)) - set(
        api.list_repo_files(repo_id, revision=sha)
    )
    [report_path] = [path for path in changed if path.startswith("reproductions/")]
    assert changed <= {report_path, "README.md"} | {p for p in changed if p.startswith(".eval_results/")}
    report = json.loads(Path(api.hf_hub_download(repo_id, report_path, revision=head)).read_text())
    assert report["verdict"] == "PASS" and report["model"]["revision"] == sha
    card = Path(api.hf_hub_download(repo_id, "README.md", revision=head)).read_text()
    assert "Verification (re-evaluation): PASS" in card
    [tag] = api.list_repo_refs(repo_id).tags
    assert (tag.name, tag.target_commit) == ("v1.0", head)

    # a second report on the same weights goes beside the first one, and the card lists both
    again = run_cli("verify", repo_id, "--push-report")
    assert again.exit_code == 0, again.output
    card = Path(api.hf_hub_download(repo_id, "README.md")).read_text()
    assert card.count("Verification (re-evaluation): PASS") == 2


def test_remote_code_and_pickled_weights_are_refused(trained, tmp_path):
    def remote_code(folder):
        config = json.loads((folder / "config.json").read_text())
        config["auto_map"] = {"AutoModelForSequenceClassification": "modeling_evil.EvilModel"}
        (folder / "config.json").write_text(json.dumps(config))
        (folder / "modeling_evil.py").write_text("import os\nos.system('echo pwned')\n")

    def pickled(folder):
        (folder / "model.safetensors").rename(folder / "pytorch_model.bin")

    code_sha = publish_copy(trained, "alice/repro-remote-code", tmp_path, remote_code)
    pickle_sha = publish_copy(trained, "alice/repro-pickled", tmp_path, pickled)

    code = run_cli("verify", f"alice/repro-remote-code@{code_sha}")
    pickle = run_cli("verify", f"alice/repro-pickled@{pickle_sha}")

    assert code.exit_code == 2 and "needs its own Python code (config.json has auto_map)" in code.output
    assert "--trust-remote-code" in code.output
    assert pickle.exit_code == 2 and "has no model.safetensors" in pickle.output
    assert "pytorch_model.bin" in pickle.output
    # the message is about the checked model, not a base model
    assert f"model alice/repro-pickled@{pickle_sha} has no model.safetensors" in pickle.output
    assert "base model" not in pickle.output
