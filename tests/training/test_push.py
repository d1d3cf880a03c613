"""`hubrerank train --push`: one commit holding the whole model folder, loadable at its sha."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from helpers import run_cli
from training_helpers import make_recipe, training_repos

PAIRS = [("what is the cost of a roof", "the price of a roof is large"), ("who is the king", "the moon")]


def _pushed_sha(output: str, repo_id: str) -> str:
    [sha] = re.findall(rf"^{re.escape(repo_id)}@([0-9a-f]{{40}})$", output, flags=re.MULTILINE)
    return sha


def test_push_publishes_one_commit_that_scores_like_the_local_model(hub, tiny_cross_encoder, tmp_path):
    from huggingface_hub import HfApi, hf_hub_download
    from sentence_transformers.cross_encoder import CrossEncoder

    recipe = make_recipe(tmp_path, tiny_cross_encoder.repo_id, training_repos())
    out = tmp_path / "out"

    result = run_cli("train", str(recipe), "--out", str(out), "--push", "alice/tiny-trained")

    assert result.exit_code == 0, result.output
    sha = _pushed_sha(result.output, "alice/tiny-trained")
    api = HfApi()
    files = set(api.list_repo_files("alice/tiny-trained", revision=sha))
    local = {path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file()}
    assert local <= files
    assert {
        "model.safetensors",
        "README.md",
        "hubrerank.yaml",
        "eval_results.json",
        "training_log.jsonl",
    } <= files
    commits = [commit.commit_id for commit in api.list_repo_commits("alice/tiny-trained")]
    assert commits[0] == sha and len(commits) == 2  # the repo's initial commit, then the model in one
    readme = Path(hf_hub_download("alice/tiny-trained", "README.md", revision=sha)).read_text()
    assert 'CrossEncoder("alice/tiny-trained")' in readme
    assert (out / "README.md").read_text() == readme  # the folder keeps the card it published
    pushed = CrossEncoder("alice/tiny-trained", revision=sha)
    np.testing.assert_array_equal(pushed.predict(PAIRS), CrossEncoder(str(out)).predict(PAIRS))


def test_a_push_the_token_may_not_write_is_refused_before_training(hub, tiny_cross_encoder, tmp_path):
    from huggingface_hub import HfApi

    recipe = make_recipe(tmp_path, tiny_cross_encoder.repo_id, training_repos())
    out = tmp_path / "out"

    refused = run_cli("train", str(recipe), "--out", str(out), "--push", "bob/not-yours")

    assert refused.exit_code == 2
    assert (
        refused.output.strip()
        .splitlines()[-1]
        .startswith("Error: --push bob/not-yours: the token of alice may not write to 'bob'")
    )
    assert not out.exists() and "step " not in refused.output
    assert not HfApi(token=hub.bob_token).repo_exists("bob/not-yours")


def test_failed_push_keeps_the_model_and_resume_pushes_it_without_training(
    hub, tiny_cross_encoder, tmp_path, monkeypatch
):
    from huggingface_hub import HfApi

    from hubrerank import hub as hub_api
    from hubrerank.errors import HubError

    def unreachable(*args, **kwargs):
        raise HubError("publishing model repo alice/tiny-retried failed: the Hub went away")

    recipe = make_recipe(tmp_path, tiny_cross_encoder.repo_id, training_repos())
    out = tmp_path / "out"

    monkeypatch.setattr(hub_api, "publish", unreachable)
    failed = run_cli("train", str(recipe), "--out", str(out), "--push", "alice/tiny-retried")
    monkeypatch.undo()
    assert not HfApi().repo_exists("alice/tiny-retried")
    retried = run_cli("train", str(recipe), "--out", str(out), "--resume", "--push", "alice/tiny-retried")

    assert failed.exit_code == 2
    assert (
        failed.output.strip()
        .splitlines()[-1]
        .startswith("Error: publishing model repo alice/tiny-retried failed")
    )
    assert (out / "model.safetensors").is_file() and (out / "hubrerank.yaml").is_file()
    assert retried.exit_code == 0, retried.output
    assert "already holds the finished run" in retried.output and "step " not in retried.output
    sha = _pushed_sha(retried.output, "alice/tiny-retried")
    assert "hubrerank.yaml" in HfApi().list_repo_files("alice/tiny-retried", revision=sha)


def test_the_resume_hint_of_an_interrupted_push_keeps_push(hub, tiny_cross_encoder, tmp_path, monkeypatch):
    from hubrerank.training import trainer

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "train_file", interrupted)
    recipe = make_recipe(tmp_path, tiny_cross_encoder.repo_id, training_repos())

    result = run_cli("train", str(recipe), "--out", str(tmp_path / "out"), "--push", "alice/tiny-hint")

    assert result.exit_code == 130
    assert result.output.strip().endswith(
        f"hubrerank train {recipe} --out {tmp_path / 'out'} --push alice/tiny-hint --resume"
    )
