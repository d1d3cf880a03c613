"""When an .eval_results entry's verifyToken makes it verified: every forgery refused, with its reason."""

from __future__ import annotations

import dataclasses

import pytest
import yaml
from huggingface_hub import CommitOperationAdd, EvalResultEntry, HfApi, eval_result_entries_to_yaml

from hubrerank.server import HubServer, UserSpec
from hubrerank.server.keys import VerifyKeys
from hubrerank.server.objects import Repo
from hubrerank.server.storage import Store
from hubrerank.server.verification import EntryFields, check_entry
from hubrerank.signatures import SignedResult, SigningKey

ALICE = "hrk_alice_" + "v" * 20
BOB = "hrk_bob_" + "v" * 20


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    data = tmp_path_factory.mktemp("verification") / "hub"
    with HubServer(data, users=[UserSpec("alice", ALICE), UserSpec("bob", BOB)]) as server:
        yield server, data


def _commit(api: HfApi, repo_id: str, files: dict[str, bytes]) -> str:
    operations = [CommitOperationAdd(path, data) for path, data in files.items()]
    return api.create_commit(repo_id, operations, commit_message="files").oid


@pytest.fixture(scope="module")
def signed(hub):
    """alice's model, bob's registered key, and a token bob signed for its first commit."""
    server, data = hub
    api = HfApi(endpoint=server.url, token=ALICE)
    api.create_repo("alice/model")
    sha = _commit(api, "alice/model", {"model.safetensors": b"weights-1", "config.json": b"{}"})
    key = SigningKey.generate()
    VerifyKeys(data).add("bob", key.public_text)
    result = SignedResult(
        "alice/model", sha, "acme/faq", "c" * 40, "default/test/ndcg@10", "ndcg@10", "all-positives",
        0.75, 0.001, "PASS", "0.1.0", "bob", "2026-12-07T10:00:00Z",
    )  # fmt: skip
    return api, key, result


def _check(hub, result: SignedResult, token: str, *, repo_id="alice/model", revision="main", **changes):
    """The check of an entry stating ``result`` (with ``changes``) and ``token``, in ``repo_id@revision``."""
    store = Store(hub[1])
    state = store.state(Repo("model", *repo_id.split("/")))
    entry = EntryFields(result.dataset, result.task_id, result.dataset_revision, result.value, token)
    holder = store.resolve(state, revision)
    return check_entry(store, VerifyKeys(hub[1]), state.repo, holder, dataclasses.replace(entry, **changes))


def test_a_token_signed_by_a_registered_key_for_these_weights_is_verified(hub, signed):
    _, key, result = signed
    check = _check(hub, result, key.sign(result))
    assert check.verified and check.reason == "re-measured by bob (PASS)" and check.signed == result


def test_a_later_commit_with_only_results_keeps_it_and_one_that_changes_weights_voids_it(hub, signed):
    api, key, result = signed
    token = key.sign(result)
    _commit(api, "alice/model", {"README.md": b"# card", ".eval_results/bob.yaml": b"[]"})
    assert _check(hub, result, token).verified
    _commit(api, "alice/model", {"model.safetensors": b"weights-2"})
    check = _check(hub, result, token)
    assert not check.verified and check.reason.startswith("model.safetensors changed since the signed commit")
    assert _check(hub, result, token, revision=result.model_sha).verified  # still true of that commit


@pytest.mark.parametrize(
    ("forgery", "reason"),
    [
        ({"value": 0.76}, "the entry's value differs from the signed 0.75"),
        ({"task_id": "default/test/map"}, "signed for another dataset, revision or task"),
        ({"dataset_revision": None}, "signed for another dataset, revision or task"),
        ({"verify_token": "not.a.token"}, "verifyToken"),
    ],
)
def test_an_edited_entry_or_a_token_moved_to_another_entry_is_not_verified(hub, signed, forgery, reason):
    _, key, result = signed
    check = _check(hub, result, key.sign(result), revision=result.model_sha, **forgery)
    assert not check.verified and reason in check.reason


def test_a_token_copied_to_another_repo_or_signed_by_a_stranger_is_not_verified(hub, signed):
    api, key, result = signed
    api.create_repo("alice/copy")
    _commit(api, "alice/copy", {"model.safetensors": b"weights-1", "config.json": b"{}"})
    copied = _check(hub, result, key.sign(result), repo_id="alice/copy")
    assert not copied.verified and copied.reason == "signed for alice/model, not for alice/copy"
    copied_for = dataclasses.replace(result, model="alice/copy")  # the right repo, a sha it does not have
    other = _check(hub, copied_for, key.sign(copied_for), repo_id="alice/copy")
    assert not other.verified and "which alice/copy does not have" in other.reason
    stranger = SigningKey.generate()
    unknown = _check(hub, result, stranger.sign(result), revision=result.model_sha)
    assert not unknown.verified and "which no user has registered" in unknown.reason
    as_alice = dataclasses.replace(result, signer="alice")  # bob's key cannot sign as alice
    impostor = _check(hub, as_alice, key.sign(as_alice), revision=result.model_sha)
    assert not impostor.verified and impostor.reason.endswith("belongs to bob, not to alice")


def test_a_commit_that_is_not_an_ancestor_is_not_verified(hub, signed):
    api, key, result = signed
    api.create_branch("alice/model", branch="side", revision=result.model_sha)
    side = _commit_on(api, "side")
    off = dataclasses.replace(result, model_sha=side)
    check = _check(hub, off, key.sign(off))  # main does not contain the side branch's commit
    assert not check.verified and "not in this commit's history" in check.reason


def _commit_on(api: HfApi, branch: str) -> str:
    operation = [CommitOperationAdd("notes.txt", b"side")]
    return api.create_commit("alice/model", operation, commit_message="side", revision=branch).oid


EVAL_YAML = b"""name: FAQ test
evaluation_framework: hubrerank
tasks:
  - id: default/test/ndcg@10
    config: default
    split: test
"""


def test_the_leaderboard_shows_a_valid_token_as_verified_and_says_why_another_is_not(hub, signed):
    server = hub[0]
    _, key, result = signed
    api = HfApi(endpoint=server.url, token=ALICE)
    api.create_repo("alice/faq-bench", repo_type="dataset")
    api.upload_file(
        path_or_fileobj=EVAL_YAML, path_in_repo="eval.yaml", repo_id="alice/faq-bench", repo_type="dataset"
    )
    api.create_repo("alice/graded")
    sha = _commit(api, "alice/graded", {"model.safetensors": b"w", "config.json": b"{}"})
    good = dataclasses.replace(
        result, model="alice/graded", model_sha=sha, dataset="alice/faq-bench", task_id="default/test/ndcg@10"
    )
    edited = dataclasses.replace(good, value=0.5)

    def entry(signed_result: SignedResult, value: float) -> EvalResultEntry:
        return EvalResultEntry(
            dataset_id="alice/faq-bench", task_id="default/test/ndcg@10", value=value,
            dataset_revision=signed_result.dataset_revision, verify_token=key.sign(signed_result),
        )  # fmt: skip

    entries = [
        entry(good, good.value),
        entry(edited, 0.9),
        EvalResultEntry("alice/faq-bench", "default/test/ndcg@10", 0.1),
    ]
    for index, item in enumerate(entries):
        text = yaml.safe_dump(eval_result_entries_to_yaml([item])).encode()
        _commit(api, "alice/graded", {f".eval_results/{index}.yaml": text})
    board = {e.value: e for e in api.get_dataset_leaderboard("alice/faq-bench", base_model_only=False)}
    assert board[0.75].verified and board[0.75].badge == "verified" and board[0.75].remeasured
    assert board[0.75].verification == "re-measured by bob (PASS)"
    assert not board[0.9].verified and board[0.9].badge == "self-reported"
    assert board[0.9].verification == "the entry's value differs from the signed 0.5"
    assert board[0.1].badge == "self-reported" and board[0.1].verification is None
