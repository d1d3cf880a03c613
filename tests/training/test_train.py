"""`hubrerank train` end to end on the local Hub: each data form with its losses, outputs and record."""

from __future__ import annotations

import json
import re
from importlib.metadata import version

import pytest
import yaml
from factories import build_tiny_causal_lm
from helpers import run_cli
from training_helpers import make_recipe, push_folder, training_repos, weights_sha256

SHA = re.compile(r"^[0-9a-f]{40}$")


def test_bce_on_labeled_pairs_writes_model_record_results_and_log(hub, tiny_cross_encoder, tmp_path):
    data = training_repos()
    recipe = make_recipe(tmp_path, tiny_cross_encoder.repo_id, data)
    out = tmp_path / "out"

    result = run_cli("train", str(recipe), "--out", str(out))

    assert result.exit_code == 0, result.output
    assert f"base_model: {tiny_cross_encoder.repo_id}@main -> {tiny_cross_encoder.sha}" in result.output
    assert "step 3/6  eval tiny-reranking-test: " in result.output
    assert f"evaluating {out} on {data['reranking']}:test" in result.output  # the final evaluation shows
    # the test evaluation in one line, against the first stage query by query
    assert re.search(
        r"/test: realistic NDCG@10 [0-9.]+ \(first stage [0-9.]+; better on \d+, ", result.output
    )
    assert {
        "model.safetensors",
        "config.json",
        "modules.json",
        "README.md",
        "hubrerank.yaml",
        "eval_results.json",
        "training_log.jsonl",
    } <= {path.name for path in out.iterdir()}
    assert not (out / "checkpoints").exists()
    assert weights_sha256(out) != weights_sha256(tiny_cross_encoder.path)

    record = yaml.safe_load((out / "hubrerank.yaml").read_text())
    refs = [record["base_model"], *record["train"], record["eval"], *record["evaluation"]["reranking"]]
    assert all(SHA.match(ref["revision"]) and ref["requested"] == "main" for ref in refs)
    assert record["base_model"]["revision"] == tiny_cross_encoder.sha
    assert record["loss"] == {"name": "BinaryCrossEntropyLoss", "params": {"pos_weight": 3}}
    assert record["environment"]["world_size"] == 1 and record["environment"]["device"] == "cpu"
    assert record["environment"]["sentence_transformers"] == version("sentence-transformers")  # the installed
    training = record["training"]
    assert training["global_step"] == 6 and training["train_rows"] == 48
    assert training["best_step"] in (3, 6)

    results = json.loads((out / "eval_results.json").read_text())
    [reranking] = results["results"]
    assert reranking["dataset"] == data["reranking"] and reranking["revision"] == record["eval"]["revision"]
    assert record["metrics"][f"{data['reranking']}:test/ndcg@10"] == reranking["metrics"]["ndcg@10"]
    # the kept checkpoint is the best one, and the final evaluation agrees with the in-training one
    assert reranking["metrics"]["ndcg@10"] == pytest.approx(training["best_metric"], abs=1e-9)

    log = [json.loads(line) for line in (out / "training_log.jsonl").read_text().splitlines()]
    assert [entry["step"] for entry in log if "loss" in entry] == [3, 6]
    assert "hubrerank" in (out / "README.md").read_text()


@pytest.mark.parametrize(
    ("form", "loss", "name"),
    [
        ("pairs", {"name": "MSE"}, "MSELoss"),
        ("tuples", {"name": "MNRL", "params": {"num_negatives": 2}}, "MultipleNegativesRankingLoss"),
        ("lists", {"name": "LambdaLoss", "params": {"weighting_scheme": "NDCGLoss2PPScheme"}}, "LambdaLoss"),
    ],
    ids=["mse-teacher-scores", "mnrl-n-tuples", "lambda-labeled-lists"],
)
def test_losses_train_on_their_data_form(hub, tiny_cross_encoder, tmp_path, form, loss, name):
    recipe = make_recipe(tmp_path, tiny_cross_encoder.repo_id, training_repos(), form=form, loss=loss)
    out = tmp_path / "out"

    result = run_cli("train", str(recipe), "--out", str(out))

    assert result.exit_code == 0, result.output
    record = yaml.safe_load((out / "hubrerank.yaml").read_text())
    assert record["loss"]["name"] == name
    assert record["training"]["global_step"] == 6
    assert weights_sha256(out) != weights_sha256(tiny_cross_encoder.path)


@pytest.mark.slow  # the longest training run of this module: 2 s
def test_listwise_distillation_trains_on_scaled_teacher_scores(hub, tiny_cross_encoder, tmp_path):
    repos = training_repos()
    recipe = make_recipe(tmp_path, tiny_cross_encoder.repo_id, repos, form="lists", loss={"name": "ListNet"})
    document = yaml.safe_load(recipe.read_text())
    document["train"] |= {"label_column": "scores", "label_scale": 20}
    recipe.write_text(yaml.safe_dump(document))
    flat = tmp_path / "flat.yaml"
    document["train"]["label_scale"] = 1e-9  # a flat target: almost nothing to learn
    flat.write_text(yaml.safe_dump(document))

    result = run_cli("train", str(recipe), "--out", str(tmp_path / "out"))
    flat_result = run_cli("train", str(flat), "--out", str(tmp_path / "flat"))

    assert result.exit_code == 0, result.output
    assert flat_result.exit_code == 0, flat_result.output
    record = yaml.safe_load((tmp_path / "out" / "hubrerank.yaml").read_text())
    assert record["train"][0]["label_column"] == "scores"
    assert record["train"][0]["label_scale"] == 20
    assert "split `train`, labels `scores` × 20)" in (tmp_path / "out" / "README.md").read_text()
    assert weights_sha256(tmp_path / "out") != weights_sha256(tmp_path / "flat")


def test_causal_lm_reranker_trains_and_evaluates(hub, tmp_path):
    folder = build_tiny_causal_lm(tmp_path / "tiny-llm")
    sha = push_folder("alice/tiny-llm", folder)
    recipe = make_recipe(tmp_path, "alice/tiny-llm", training_repos(), name="tiny-llm")
    out = tmp_path / "out"

    result = run_cli("train", str(recipe), "--out", str(out))

    assert result.exit_code == 0, result.output
    modules = json.loads((out / "modules.json").read_text())
    assert [module["type"].rsplit(".", 1)[-1] for module in modules] == ["Transformer", "LogitScore"]
    record = yaml.safe_load((out / "hubrerank.yaml").read_text())
    assert record["base_model"]["revision"] == sha
    [reranking] = json.loads((out / "eval_results.json").read_text())["results"]
    assert 0 < reranking["metrics"]["ndcg@10"] <= 1
    assert weights_sha256(out) != weights_sha256(folder)


def test_several_training_datasets_train_together_and_are_all_recorded(hub, tiny_cross_encoder, tmp_path):
    data = training_repos()
    recipe = make_recipe(
        tmp_path,
        tiny_cross_encoder.repo_id,
        data,
        train=[{"dataset": data["pairs"], "split": "train"}, {"dataset": data["pairs"], "split": "test"}],
    )
    out = tmp_path / "out"

    result = run_cli("train", str(recipe), "--out", str(out))

    assert result.exit_code == 0, result.output
    record = yaml.safe_load((out / "hubrerank.yaml").read_text())
    assert [node["split"] for node in record["train"]] == ["train", "test"]
    assert record["training"]["train_rows"] == 96
    assert result.output.count(f"{data['pairs']}@main -> ") == 2
