"""`hubrerank train` of a bi-encoder retriever on the local Hub: its losses and data forms, the record,
retrieval results, the card, byte-identical re-runs, --resume and a base model of the wrong kind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest
import yaml
from helpers import run_cli
from test_resume import RESUME_ARGS, SLOW_CLI, _wait_for_checkpoint
from training_helpers import TOPICS, make_recipe, push_folder, training_repos, weights_sha256

BI_ENCODER = {"kind": "bi-encoder", "max_length": 32}
NO_DUPLICATES = {"batch_sampler": "no_duplicates"}


def bi_recipe(tmp_path, model, form="tuples", loss=None, args=None):
    """make_recipe's tiny recipe, for a bi-encoder with a no-duplicates batch sampler."""
    path = make_recipe(
        tmp_path,
        model,
        training_repos(),
        form=form,
        loss=loss or {"name": "MNRL"},
        args=NO_DUPLICATES | (args or {}),
    )
    recipe = yaml.safe_load(path.read_text())
    recipe["model"] = BI_ENCODER
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def test_mnrl_trains_a_bi_encoder_and_records_retrieval(hub, tiny_bi_encoder, tmp_path):
    data = training_repos()
    out = tmp_path / "out"

    result = run_cli("train", str(bi_recipe(tmp_path, tiny_bi_encoder.repo_id)), "--out", str(out))

    assert result.exit_code == 0, result.output
    assert "step 3/6  eval tiny-reranking-test: " in result.output
    assert re.search(
        rf":test retrieval over {len(TOPICS)} documents, {len(TOPICS)} queries: ndcg@10 [0-9.]+  hit@1 ",
        result.output,
    )
    assert weights_sha256(out) != weights_sha256(tiny_bi_encoder.path)
    assert (out / "modules.json").is_file() and not (out / "checkpoints").exists()
    record = yaml.safe_load((out / "hubrerank.yaml").read_text())
    assert record["model"] == BI_ENCODER
    assert record["loss"] == {"name": "MultipleNegativesRankingLoss", "params": {}}
    assert record["base_model"]["revision"] == tiny_bi_encoder.sha
    assert list(record["evaluation"]) == ["retrieval"]
    [retrieval] = json.loads((out / "eval_results.json").read_text())["results"]
    assert retrieval["task"] == "retrieval" and retrieval["corpus_size"] == len(TOPICS)
    assert record["metrics"][f"{data['reranking']}:test/ndcg@10"] == retrieval["metrics"]["ndcg@10"]
    # the kept checkpoint is the best one by the in-training InformationRetrievalEvaluator
    assert retrieval["metrics"]["ndcg@10"] == pytest.approx(record["training"]["best_metric"], abs=1e-6)
    card = (out / "README.md").read_text()
    assert "pipeline_tag: sentence-similarity" in card and "- retriever" in card
    assert "**bi-encoder retriever**" in card and "### Retrieval: " in card
    assert "SentenceTransformer(" in card and "CrossEncoder" not in card


@pytest.mark.parametrize(
    ("form", "loss", "name"),
    [
        ("tuples", {"name": "CMNRL", "params": {"mini_batch_size": 2}}, "CachedMultipleNegativesRankingLoss"),
        ("tuples", {"name": "TripletLoss"}, "TripletLoss"),
        ("pairs", {"name": "CoSENTLoss"}, "CoSENTLoss"),
        (
            "tuples",
            {"name": "MatryoshkaLoss", "params": {"matryoshka_dims": [32, 16]}, "inner": {"name": "MNRL"}},
            "MatryoshkaLoss",
        ),
    ],
    ids=["cmnrl", "triplet", "cosent-scored-pairs", "matryoshka-mnrl"],
)
def test_bi_encoder_losses_train_on_their_data_form(hub, tiny_bi_encoder, tmp_path, form, loss, name):
    out = tmp_path / "out"
    result = run_cli(
        "train", str(bi_recipe(tmp_path, tiny_bi_encoder.repo_id, form, loss)), "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((out / "hubrerank.yaml").read_text())["loss"]["name"] == name


def test_gist_fetches_its_pinned_guide_model(hub, tiny_bi_encoder, tmp_path):
    loss = {"name": "GISTEmbedLoss", "guide": {"repo": tiny_bi_encoder.repo_id}}
    out = tmp_path / "out"
    result = run_cli("train", str(bi_recipe(tmp_path, tiny_bi_encoder.repo_id, loss=loss)), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"loss.guide: {tiny_bi_encoder.repo_id}@main -> {tiny_bi_encoder.sha}" in result.output
    guide = yaml.safe_load((out / "hubrerank.yaml").read_text())["loss"]["guide"]
    assert guide == {"repo": tiny_bi_encoder.repo_id, "revision": tiny_bi_encoder.sha, "requested": "main"}


def test_a_bi_encoder_recipe_on_a_cross_encoder_is_refused_in_one_line(hub, tiny_cross_encoder, tmp_path):
    out = tmp_path / "out"
    result = run_cli("train", str(bi_recipe(tmp_path, tiny_cross_encoder.repo_id)), "--out", str(out))
    assert result.exit_code == 2, result.output
    message = result.output.strip().splitlines()[-1]
    assert (
        f"model.kind is bi-encoder but base_model {tiny_cross_encoder.repo_id} is a cross-encoder" in message
    )
    assert not (out / "checkpoints").exists()


def test_wrong_data_form_names_the_columns_and_the_build_format(hub, tiny_bi_encoder, tmp_path):
    result = run_cli(
        "train", str(bi_recipe(tmp_path, tiny_bi_encoder.repo_id, "lists", {"name": "TripletLoss"}))
    )
    assert result.exit_code == 2
    assert "TripletLoss trains on the triplet form" in result.output
    assert "--output-format n-tuple" in result.output


@pytest.mark.slow  # two training runs
def test_bi_encoder_re_runs_are_byte_identical(hub, tiny_bi_encoder, tmp_path):
    recipe = bi_recipe(tmp_path, tiny_bi_encoder.repo_id)
    outs = [tmp_path / "first", tmp_path / "second"]
    results = [run_cli("train", str(recipe), "--out", str(out)) for out in outs]
    assert [result.exit_code for result in results] == [0, 0], results[-1].output
    assert weights_sha256(outs[0]) == weights_sha256(outs[1])
    assert (outs[0] / "eval_results.json").read_bytes() == (outs[1] / "eval_results.json").read_bytes()


@pytest.mark.slow  # three training runs, one killed
def test_bi_encoder_resume_after_kill_equals_uninterrupted_run(hub, tiny_bi_encoder, tmp_path):
    recipe = bi_recipe(tmp_path, tiny_bi_encoder.repo_id, args=RESUME_ARGS)
    killed, reference = tmp_path / "killed", tmp_path / "reference"
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_CLI, "train", str(recipe), "--out", str(killed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    try:
        _wait_for_checkpoint(process, killed / "checkpoints")
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.communicate()
    resumed = run_cli("train", str(recipe), "--out", str(killed), "--resume")
    uninterrupted = run_cli("train", str(recipe), "--out", str(reference))
    assert resumed.exit_code == 0, resumed.output
    assert "resuming from " in resumed.output
    assert uninterrupted.exit_code == 0, uninterrupted.output
    assert weights_sha256(killed) == weights_sha256(reference)


def test_auto_kind_trains_the_base_models_kind_and_records_it(hub, tiny_bi_encoder, tmp_path):
    recipe = bi_recipe(tmp_path, tiny_bi_encoder.repo_id)
    document = yaml.safe_load(recipe.read_text())
    document["model"] = {"kind": "auto", "max_length": 32}
    recipe.write_text(yaml.safe_dump(document, sort_keys=False))
    out = tmp_path / "out"

    result = run_cli("train", str(recipe), "--out", str(out))

    assert result.exit_code == 0, result.output
    assert f"base_model: {tiny_bi_encoder.repo_id}@main -> {tiny_bi_encoder.sha}" in result.output
    assert "model.kind: bi-encoder" in result.output
    record = yaml.safe_load((out / "hubrerank.yaml").read_text())
    assert record["model"] == BI_ENCODER
    assert record["base_model"] == {
        "repo": tiny_bi_encoder.repo_id,
        "revision": tiny_bi_encoder.sha,
        "requested": "main",
    }


def test_auto_kind_refuses_a_plain_checkpoint_before_any_work(hub, tmp_path):
    from factories import build_tiny_bert_base

    from hubrerank.kinds.detect import hub_model_kind
    from hubrerank.refs import Ref

    repo_id = "alice/tiny-plain-bert"
    sha = push_folder(repo_id, build_tiny_bert_base(tmp_path / "plain-bert"))
    recipe = bi_recipe(tmp_path, repo_id)
    document = yaml.safe_load(recipe.read_text())
    document["model"] = {"kind": "auto"}
    recipe.write_text(yaml.safe_dump(document, sort_keys=False))
    out = tmp_path / "out"

    result = run_cli("train", str(recipe), "--out", str(out))

    assert result.exit_code == 2, result.output
    assert (
        result.output.strip()
        .splitlines()[-1]
        .endswith(
            f"model.kind: auto: base_model {repo_id}@{sha[:12]} is a plain transformers checkpoint (no "
            "Pooling module, no scoring head) that can become any kind; set model.kind to cross-encoder, "
            "bi-encoder, sparse-encoder or multi-vector"
        )
    )
    assert not out.exists()
    resolved, kind = hub_model_kind(Ref(repo_id, "main"))
    assert (resolved.sha, kind) == (sha, "base")


def test_kind_detection_reads_configs_only(hub, tiny_cross_encoder, tiny_bi_encoder, monkeypatch):
    import hubrerank.hub
    from hubrerank.kinds.detect import KIND_FILES, hub_model_kind
    from hubrerank.refs import Ref

    fetched = []
    download = hubrerank.hub.download

    def recorded(ref, allow_patterns=None, local_dir=None):
        fetched.append(allow_patterns)
        return download(ref, allow_patterns, local_dir)

    monkeypatch.setattr(hubrerank.hub, "download", recorded)
    for model, kind in ((tiny_cross_encoder, "cross-encoder"), (tiny_bi_encoder, "bi-encoder")):
        resolved, found = hub_model_kind(Ref(model.repo_id))
        assert (resolved.sha, found) == (model.sha, kind)
    assert fetched == [list(KIND_FILES)] * 2  # never the weights
