"""Model cards rendered from a hand-written model folder: content, YAML round trip, secrets, bad input."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
import yaml
from card_fixtures import BASE_SHA, EVAL_RESULTS, EVAL_SHA, NANO_SHA, RECIPE, TRAIN_SHA, write_model_dir
from huggingface_hub import ModelCard, metadata_load, parse_eval_result_entries
from huggingface_hub.repocard_data import model_index_to_eval_results

from hubrerank.cards.model_card import card_files, render_model_card
from hubrerank.errors import InputError
from hubrerank.record import read_reports

MODEL_SHA = "5" * 40
REPO = "acme/faq-reranker"


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return write_model_dir(tmp_path / "faq-reranker")


def _report(verdict: str = "PASS", ok: bool = True) -> dict:
    return {
        "kind": "verify",
        "verdict": verdict,
        "timestamp": "2026-11-24T10:00:00Z",
        "tolerance": 0.001,
        "rows": [
            {
                "metric": "reranking/acme/construction-faq/test/ndcg@10",
                "claimed": 0.76,
                "measured": 0.7603 if ok else 0.70,
                "delta": 0.0003 if ok else -0.06,
                "tolerance": 0.001,
                "ok": ok,
            }
        ],
        "environment": {"device": "cpu", "torch": "2.13.0+cpu", "world_size": 1},
        "ci_run_url": "https://github.com/acme/faq-reranker/actions/runs/42",
    }


def test_yaml_metadata(model_dir: Path) -> None:
    data = render_model_card(model_dir, REPO, revision=MODEL_SHA).data.to_dict()
    assert data["library_name"] == "sentence-transformers"
    assert data["pipeline_tag"] == "text-ranking"
    assert data["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert data["datasets"] == ["acme/construction-faq", "sentence-transformers/NanoBEIR-en"]
    assert set(data["tags"]) >= {
        "sentence-transformers",
        "cross-encoder",
        "reranker",
        "hubrerank",
        "text-ranking",
    }


def test_model_index_holds_every_model_metric(model_dir: Path) -> None:
    card = render_model_card(model_dir, REPO, revision=MODEL_SHA)
    name, results = model_index_to_eval_results(card.data.to_dict()["model-index"])
    assert name == REPO
    assert {r.task_type for r in results} == {"text-ranking"}
    reranking = {r.metric_type: r for r in results if r.dataset_type == "acme/construction-faq"}
    claimed = EVAL_RESULTS["results"][0]["metrics"]
    assert reranking.keys() == {k for k in claimed if not k.startswith(("base_", "realistic_base_"))}
    assert len(reranking) == 2 * 13  # two settings of the model, 13 metrics each
    ndcg = reranking["realistic_ndcg@10"]
    assert (ndcg.metric_value, ndcg.dataset_revision, ndcg.dataset_split, ndcg.dataset_config) == (
        claimed["realistic_ndcg@10"],
        EVAL_SHA,
        "test",
        "default",
    )
    nano = [r for r in results if r.dataset_type == "sentence-transformers/NanoBEIR-en"]
    assert {r.dataset_revision for r in nano} == {NANO_SHA}
    mean = [r for r in nano if r.dataset_args.get("aggregate") == "mean" and r.metric_type == "ndcg@10"]
    assert len(mean) == 1
    assert mean[0].dataset_args["datasets"] == ["msmarco", "nfcorpus", "nq"]
    assert mean[0].metric_value == pytest.approx(0.6)
    assert {r.dataset_split for r in nano} == {"NanoMSMARCO", "NanoNFCorpus", "NanoNQ", None}


def test_yaml_round_trips_through_the_hub_loaders(model_dir: Path, tmp_path: Path) -> None:
    card = render_model_card(model_dir, REPO, revision=MODEL_SHA)
    path = tmp_path / "README.md"
    card.save(path)
    loaded = ModelCard.load(path)
    assert loaded.data.to_dict() == card.data.to_dict()
    assert loaded.data.eval_results == card.data.eval_results
    assert metadata_load(path) == card.data.to_dict()


def test_body_sections(model_dir: Path) -> None:
    text = str(render_model_card(model_dir, REPO, revision=MODEL_SHA))
    assert f'CrossEncoder("{REPO}", revision="{MODEL_SHA}")' in text
    assert ".rank(" in text
    # both reranking settings, the first stage and the base model, with gains
    assert "| NDCG@10 | 0.7011 | 0.7412 | 0.7600 | 0.7250 | 0.2965 | 0.3040 |" in text
    # the realistic ranking is compared with the first stage's own order, like with like
    summary = (
        "| acme/construction-faq (test) | NDCG@10 (realistic) | 0.7011 | 0.2965 | **0.7412** | +0.0401 |"
    )
    assert summary + " +0.4447 |" in text
    scope = "101 queries (3 without a positive, counted as 0),\nreranking each query's first-stage candidates"
    assert scope.replace("candidates", "candidate list; MRR and NDCG are cut at 10") in text
    assert text.index("| Hit rate@5 |") < text.index("| MRR@1 |")
    # whether the gain over the first stage is more than luck, query by query
    versus = "better on 12, worse on\n7 and equal on 82 of 101 queries; mean change\n+0.0401, p = 0.241"
    assert "query by query (realistic NDCG@10)" in text and versus in text
    # a NanoBEIR mean is named with the subsets it averages
    assert "NanoBEIR: mean over 3 subsets (msmarco, nfcorpus, nq)" in text
    assert "| **mean of 3** | 0.4577 | 0.6000 | +0.1423 |" in text
    assert "| NanoNFCorpus | 0.3105 | 0.6000 | +0.2895 |" in text
    # training data linked at its revision, relative to whichever Hub shows the card
    assert f"(/datasets/acme/construction-faq/tree/{TRAIN_SHA})" in text
    assert f"(/sentence-transformers/all-MiniLM-L6-v2/tree/{BASE_SHA})" in text
    # the recipe and the environment
    assert "| Loss | `BinaryCrossEntropyLoss` (pos_weight=4) |" in text
    assert "| Seed | 12 |" in text and "| World size | 1 |" in text and "| Device | cpu |" in text
    assert "sentence-transformers 6.2.0" in text and "PyTorch 2.13.0+cpu" in text
    # the training log: eval rows carry the metric that chose the checkpoint, the kept one in bold
    assert "| Step | Epoch | Training loss | construction-faq-dev_ndcg@10 |" in text
    assert "| 40 | 0.32 | 1.0400 | 0.6400 |" in text
    assert "| **120** | **0.96** | **0.7200** | **0.7200** |" in text
    assert f"hubrerank reproduce {REPO}@{MODEL_SHA}" in text
    assert f"hubrerank verify {REPO}@{MODEL_SHA}" in text
    assert "Not verified yet" in text


def test_card_for_the_commit_being_made_names_no_sha(model_dir: Path) -> None:
    text = str(render_model_card(model_dir, REPO))
    assert f'CrossEncoder("{REPO}")' in text
    assert f"hubrerank reproduce {REPO}@<this commit>" in text


def test_card_of_an_unpublished_folder_loads_the_folder(model_dir: Path) -> None:
    text = str(render_model_card(model_dir))
    usage = f'model = CrossEncoder("path/to/{model_dir.name}")  # this folder; it is not on the Hub yet'
    assert usage in text
    assert "hubrerank reproduce ORG/NAME@<this commit>" in text
    assert f"--out {model_dir.name} --push ORG/NAME" in text
    assert "hubrerank card" not in text


def test_without_baselines_or_log(tmp_path: Path) -> None:
    results = {k: v for k, v in EVAL_RESULTS.items() if k != "baselines"}
    folder = write_model_dir(tmp_path / "m", eval_results=results)
    (folder / "training_log.jsonl").unlink()
    text = str(render_model_card(folder, REPO))
    assert "Base model" not in text.split("## Evaluation")[1].split("## Training data")[0]
    assert "| acme/construction-faq (test) | NDCG@10 (realistic) | 0.7011 | **0.7412** | +0.0401 |" in text
    assert "## Training log" not in text


def test_long_training_logs_are_compacted(tmp_path: Path) -> None:
    folder = write_model_dir(tmp_path / "m")
    lines = [{"loss": 1.0 - step / 1000, "epoch": step / 500, "step": step} for step in range(1, 501)]
    (folder / "training_log.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    text = str(render_model_card(folder, REPO))
    log = text.split("## Training log")[1].split("## Reproduce")[0]
    table = [line for line in log.splitlines() if line.startswith("| ") and line[2] in "0123456789*"]
    assert 20 <= len(table) <= 27
    assert "| 500 |" in log and "| **120** |" in log
    assert "logged steps are left out" in log


def test_a_run_shorter_than_its_logging_steps_shows_the_mean_loss(model_dir: Path) -> None:
    log = [
        {"eval_loss": 0.61, "eval_construction-faq-dev_ndcg@10": 0.7, "step": 6, "epoch": 1.0},
        {"train_runtime": 3.2, "train_loss": 0.6931, "step": 6, "epoch": 1.0},
    ]
    (model_dir / "training_log.jsonl").write_text("".join(json.dumps(row) + "\n" for row in log))
    text = str(render_model_card(model_dir, REPO, revision=MODEL_SHA))
    assert "Training loss (mean of the run)" in text
    assert "| 6 | 1.00 | 0.6931 | 0.6100 |" in text


def test_verification_reports(model_dir: Path) -> None:
    reports = [
        _report(),
        _report("FAIL", ok=False) | {"kind": "reproduce", "timestamp": "2026-11-25T10:00:00Z"},
    ]
    text = str(render_model_card(model_dir, REPO, reports, revision=MODEL_SHA))
    verification = text.split("\n## Verification\n")[1]
    assert "Not verified yet" not in verification
    assert "Verification (re-evaluation): PASS (2026-11-24T10:00:00Z)" in verification
    assert "Reproduction (retraining): FAIL" in verification
    assert (
        "| `reranking/acme/construction-faq/test/ndcg@10` | 0.7600 | 0.7603 | +0.0003 | 0.0010 | ✅ |"
        in verification
    )
    assert "❌" in verification
    assert "[CI run](https://github.com/acme/faq-reranker/actions/runs/42)" in verification
    assert "it is about\nreproducibility, not quality" in verification
    assert "Verdict **PASS** (the claimed numbers reproduced)" in verification
    assert "Verdict **FAIL** (the claimed numbers not reproduced)" in verification


def test_reports_are_read_from_the_model_folder(model_dir: Path) -> None:
    (model_dir / "reproductions").mkdir()
    (model_dir / "reproductions" / "b.json").write_text(json.dumps(_report() | {"timestamp": "2026-11-26"}))
    (model_dir / "reproductions" / "a.json").write_text(
        json.dumps(_report("FAIL") | {"timestamp": "2026-11-27"})
    )
    assert [r["verdict"] for r in read_reports(model_dir)] == ["PASS", "FAIL"]
    assert read_reports(model_dir / "nowhere") == []


def test_eval_results_files(model_dir: Path) -> None:
    files = card_files(model_dir, REPO, revision=MODEL_SHA)
    assert files["README.md"] == str(render_model_card(model_dir, REPO, revision=MODEL_SHA)).encode()
    names = sorted(name for name in files if name != "README.md")
    assert names == [
        ".eval_results/nanobeir-sentence-transformers--NanoBEIR-en-3-subsets.yaml",
        ".eval_results/reranking-acme--construction-faq-default-test.yaml",
    ]
    reranking = parse_eval_result_entries(yaml.safe_load(files[names[1]]))
    by_task = {entry.task_id: entry for entry in reranking}
    assert by_task["default/test/realistic_ndcg@10"].value == pytest.approx(0.7412)
    assert by_task["default/test/ndcg@10"].dataset_revision == EVAL_SHA
    assert {entry.dataset_id for entry in reranking} == {"acme/construction-faq"}
    nano = parse_eval_result_entries(yaml.safe_load(files[names[0]]))
    mean = [entry for entry in nano if entry.task_id.startswith("NanoBEIR_R100_mean_ndcg@10")]
    assert [entry.task_id for entry in mean] == ["NanoBEIR_R100_mean_ndcg@10[msmarco,nfcorpus,nq]"]
    assert "mean over msmarco, nfcorpus, nq" in mean[0].notes
    assert len(nano) == 4 * 3  # 3 subsets + the mean, 3 metrics each


def test_cards_hold_no_secrets_or_local_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recipe = copy.deepcopy(RECIPE)
    recipe["args"]["output_dir"] = str(tmp_path / "out" / "faq-reranker")
    recipe["args"]["logging_dir"] = str(tmp_path / "logs")
    recipe["args"]["resume_from_checkpoint"] = str(tmp_path / "out" / "checkpoint-40")
    folder = write_model_dir(tmp_path / "faq-reranker", recipe=recipe)
    token = os.environ["HF_TOKEN"]
    report = _report() | {"environment": {"cwd": str(tmp_path), "token": token}}
    files = card_files(folder, REPO, [report], revision=MODEL_SHA)
    for name, content in files.items():
        text = content.decode()
        assert str(tmp_path) not in text, name
        assert token not in text, name
        assert os.environ["HF_ENDPOINT"] not in text, name
    assert "`<local>/checkpoint-40`" in files["README.md"].decode()


@pytest.mark.parametrize("missing", ["hubrerank.yaml", "eval_results.json"])
def test_missing_inputs_are_named(model_dir: Path, missing: str) -> None:
    (model_dir / missing).unlink()
    with pytest.raises(InputError, match=rf"{missing} not found in .*hubrerank train"):
        render_model_card(model_dir, REPO)


def test_malformed_inputs_are_named(model_dir: Path) -> None:
    (model_dir / "eval_results.json").write_text("{not json")
    with pytest.raises(InputError, match=r"eval_results\.json is not valid JSON"):
        render_model_card(model_dir, REPO)
    (model_dir / "eval_results.json").write_text("[]")
    with pytest.raises(InputError, match="must be an object with a 'results' list"):
        render_model_card(model_dir, REPO)


def test_correlation_with_the_teacher_is_on_the_card_and_in_the_model_index(tmp_path: Path) -> None:
    results = copy.deepcopy(EVAL_RESULTS)
    results["results"][0]["metrics"] |= {"pearson": 0.91234, "spearman": 0.87654}
    results["results"][0]["teacher_pairs"] = 1717
    folder = write_model_dir(tmp_path / "distilled", eval_results=results)

    card = render_model_card(folder, REPO, revision=MODEL_SHA)

    assert (
        "Distillation: against the teacher scores of 1717 (query, candidate) pairs, Pearson\n"
        "0.9123 and Spearman 0.8765 (sentence-transformers'\n`CrossEncoderCorrelationEvaluator`)"
    ) in card.text
    _, results = model_index_to_eval_results(card.data.to_dict()["model-index"])
    names = {r.metric_name: r.metric_value for r in results}
    assert names["Pearson (with the teacher scores)"] == 0.91234
    assert names["Spearman (with the teacher scores)"] == 0.87654
