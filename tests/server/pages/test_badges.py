"""Badges as a visitor sees them: verified (a registered key signed the re-measured value for these
weights) on the model page and the leaderboard, community at ``?revision=refs/pr/N``."""

from __future__ import annotations

import pytest
import yaml
from huggingface_hub import CommitOperationAdd, EvalResultEntry, HfApi, eval_result_entries_to_yaml
from pages_helpers import Web

from hubrerank.server import HubServer, UserSpec
from hubrerank.server.keys import VerifyKeys
from hubrerank.signatures import SignedResult, SigningKey

ALICE, BOB = "hrk_alice_" + "b" * 20, "hrk_bob_" + "b" * 20
TASK = "default/test/ndcg@10"
EVAL_YAML = (
    f"name: Badges\nevaluation_framework: hubrerank\ntasks: [{{id: {TASK}, config: default, split: test}}]\n"
)


def _results(value: float, token: str | None = None) -> bytes:
    entry = EvalResultEntry(
        dataset_id="alice/bench", task_id=TASK, value=value, dataset_revision="c" * 40, verify_token=token
    )
    return yaml.safe_dump(eval_result_entries_to_yaml([entry])).encode()


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """A Hub of its own (bob's verification key is registered in it): alice's benchmark and model,
    her verified result, and bob's pull request of another result."""
    data = tmp_path_factory.mktemp("badges") / "hub"
    with HubServer(data, users=[UserSpec("alice", ALICE), UserSpec("bob", BOB)]) as server:
        api, bob = HfApi(endpoint=server.url, token=ALICE), HfApi(endpoint=server.url, token=BOB)
        api.create_repo("alice/bench", repo_type="dataset")
        api.upload_file(path_or_fileobj=EVAL_YAML.encode(), path_in_repo="eval.yaml", repo_id="alice/bench",
                        repo_type="dataset")  # fmt: skip
        api.create_repo("alice/model")
        weights = [
            CommitOperationAdd("model.safetensors", b"weights"),
            CommitOperationAdd("config.json", b"{}"),
        ]
        sha = api.create_commit("alice/model", weights, commit_message="weights").oid
        key = SigningKey.generate()
        VerifyKeys(data).add("bob", key.public_text)
        signed = SignedResult(
            "alice/model", sha, "alice/bench", "c" * 40, TASK, "ndcg@10", "all-positives",
            0.75, 0.001, "PASS", "0.1.0", "bob", "2026-12-07T10:00:00Z",
        )  # fmt: skip
        verified = CommitOperationAdd(".eval_results/bob.yaml", _results(0.75, key.sign(signed)))
        api.create_commit("alice/model", [verified], commit_message="verified results")
        proposal = CommitOperationAdd(".eval_results/bob-2.yaml", _results(0.7))
        bob.create_commit("alice/model", [proposal], commit_message="more results", create_pr=True)
        yield server


def test_a_verified_result_is_verified_on_the_model_page_and_the_leaderboard(hub):
    web = Web(hub.url)
    page = web.get("/alice/model")
    assert 'badge-verified">verified' in page.text and "0.7500" in page.text
    board = web.get("/datasets/alice/bench/leaderboard")
    assert 'badge-verified">verified' in board.text
    assert "re-measured by bob (PASS)" in board.text  # why it is verified


def test_a_pull_request_revision_shows_its_results_as_community(hub):
    web = Web(hub.url)
    page = web.get("/alice/model?revision=refs%2Fpr%2F1")
    assert page.status == 200 and 'badge-community">community' in page.text
    assert "0.7000" in page.text
    assert "0.7000" not in web.get("/alice/model").text
