"""Signed re-measured results: the verifier's key, the keys commands, what `verify --push-report` signs."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import yaml
from datasets import load_dataset
from helpers import run_cli
from huggingface_hub import HfApi
from reproduce_fixtures import publish_copy

from hubrerank.hub import resolve
from hubrerank.reproducibility.signing import KEY_ENV, create_key, load_key
from hubrerank.server.keys import VerifyKeys
from hubrerank.server.objects import Repo
from hubrerank.server.storage import Store
from hubrerank.server.verification import EntryFields, check_entry
from hubrerank.signatures import SigningKey, read_token


def test_a_created_key_is_private_kept_unless_forced_and_found_in_order(tmp_path, monkeypatch):
    path = tmp_path / "keys" / "k.pem"
    key, written = create_key(path)
    assert written == path and stat.S_IMODE(path.stat().st_mode) == 0o600
    again = run_cli("keys", "create", "--key-file", str(path))
    assert again.exit_code == 2 and "already exists; keep it, or pass --force" in again.output
    assert load_key(path)[0].key_id == key.key_id
    monkeypatch.setenv(KEY_ENV, SigningKey.generate().to_pem())
    from_env, source = load_key()
    assert source == f"${KEY_ENV}" and from_env.key_id != key.key_id
    monkeypatch.setenv(KEY_ENV, "not a key")
    result = run_cli("keys", "show")
    assert result.exit_code == 2 and "$HUBRERANK_SIGNING_KEY is not an Ed25519 private key" in result.output


def test_keys_create_show_and_register_on_the_embedded_hub(hub, tmp_path):
    path = tmp_path / "alice.pem"
    created = run_cli("keys", "create", "--key-file", str(path))
    assert created.exit_code == 0, created.output
    public = created.output.splitlines()[1]
    assert run_cli("keys", "show", "--key-file", str(path)).output.strip() == public
    registered = run_cli("keys", "register", "--key-file", str(path))
    assert registered.exit_code == 0, registered.output
    kid = SigningKey.load(path).key_id
    assert registered.output.strip() == f"registered key {kid} to alice"
    assert VerifyKeys(hub.data_dir).get(kid).user == "alice"


def test_key_file_without_publishing_and_both_publications_are_usage_errors(trained):
    alone = run_cli("verify", trained.ref, "--key-file", "k.pem")
    assert alone.exit_code == 2 and "add --push-report or --open-pr" in alone.output
    both = run_cli("verify", trained.ref, "--push-report", "--open-pr")
    assert both.exit_code == 2 and "choose one" in both.output
    missing = run_cli("verify", trained.ref, "--push-report", "--key-file", "missing.pem")
    assert missing.exit_code == 2 and "cannot read the signing key missing.pem" in missing.output


def test_push_report_signs_the_re_measured_values_and_the_hub_verifies_them(hub, trained, tmp_path):
    path = tmp_path / "alice.pem"
    key, _ = create_key(path)
    VerifyKeys(hub.data_dir).add("alice", key.public_text)
    repo_id = "alice/repro-signed"
    sha = publish_copy(trained, repo_id, tmp_path)

    result = run_cli("verify", f"{repo_id}@{sha}", "--push-report", "--key-file", str(path))

    assert result.exit_code == 0, result.output
    assert f"signing the measured entries as alice with key {key.key_id}" in result.output
    api = HfApi()
    entries = yaml.safe_load(
        Path(api.hf_hub_download(repo_id, ".eval_results/hubrerank-alice.yaml")).read_text()
    )
    [own_file] = [
        path
        for path in api.list_repo_files(repo_id)
        if path.startswith(".eval_results/reranking-")  # the card's own, self-reported entries
    ]
    own = yaml.safe_load(Path(api.hf_hub_download(repo_id, own_file)).read_text())
    claimed = {(e["dataset"]["task_id"]): e["value"] for e in own}
    assert {e["dataset"]["task_id"] for e in entries} <= set(claimed) and entries
    store = Store(hub.data_dir)
    state = store.state(Repo("model", "alice", "repro-signed"))
    head = store.resolve(state, "main")
    for entry in entries:
        token = read_token(entry["verifyToken"])
        signed = token.result
        assert (signed.model, signed.model_sha, signed.signer, signed.verdict) == (
            repo_id,
            sha,
            "alice",
            "PASS",
        )
        assert (
            signed.value == entry["value"]
            and abs(entry["value"] - claimed[entry["dataset"]["task_id"]]) <= 1e-3
        )
        assert entry["source"]["user"] == "alice" and "hubrerank verify (PASS) by alice" in entry["notes"]
        assert entry["remeasured"] is True
        fields = EntryFields(
            entry["dataset"]["id"],
            entry["dataset"]["task_id"],
            entry["dataset"].get("revision"),
            entry["value"],
            entry["verifyToken"],
        )
        assert check_entry(store, VerifyKeys(hub.data_dir), state.repo, head, fields).verified


def test_open_pr_by_another_user_is_community_until_merged_then_verified(
    hub, trained, faq_data, tmp_path, monkeypatch
):
    """bob re-measures alice's model and proposes his signed values; the leaderboard shows them as
    community while the pull request is open and as verified once alice merges it."""
    bench = "alice/repro-bench-faq"
    load_dataset("alice/repro-faq", "rerank", split="test", revision=faq_data).push_to_hub(
        bench, config_name="rerank", split="test"
    )
    revision = resolve(bench, "dataset").sha

    def point_at_bench(folder):
        record = yaml.safe_load((folder / "hubrerank.yaml").read_text())
        record["evaluation"]["reranking"][0].update(dataset=bench, revision=revision)
        (folder / "hubrerank.yaml").write_text(yaml.safe_dump(record, sort_keys=False))
        results = json.loads((folder / "eval_results.json").read_text())
        results["results"][0].update(dataset=bench, revision=revision)
        (folder / "eval_results.json").write_text(json.dumps(results))

    repo_id = "alice/repro-open-pr"
    sha = publish_copy(trained, repo_id, tmp_path, point_at_bench)
    created = run_cli("benchmark", "create", bench, "--task", "rerank/test")
    assert created.exit_code == 0, created.output
    key_file = tmp_path / "bob.pem"
    create_key(key_file)
    monkeypatch.setenv("HF_TOKEN", hub.bob_token)
    assert run_cli("keys", "register", "--key-file", str(key_file)).exit_code == 0

    result = run_cli("verify", f"{repo_id}@{sha}", "--open-pr", "--key-file", str(key_file))

    assert result.exit_code == 0, result.output
    assert f"opened pull request #1 on {repo_id}" in result.output
    api = HfApi(token=hub.alice_token)
    assert ".eval_results/hubrerank-bob.yaml" not in api.list_repo_files(repo_id)  # main untouched
    pr_files = api.list_repo_files(repo_id, revision="refs/pr/1")
    assert ".eval_results/hubrerank-bob.yaml" in pr_files and any(
        p.startswith("reproductions/") for p in pr_files
    )

    def bobs() -> list:
        board = api.get_dataset_leaderboard(bench, base_model_only=False)
        return [entry for entry in board if entry.filename == ".eval_results/hubrerank-bob.yaml"]

    [proposed] = bobs()
    assert (proposed.badge, proposed.pull_request, proposed.verified) == ("community", 1, False)
    api.merge_pull_request(repo_id, 1)
    [merged] = bobs()
    assert (merged.badge, merged.pull_request, merged.verified, merged.remeasured) == (
        "verified",
        None,
        True,
        True,
    )
    assert merged.verification == "re-measured by bob (PASS)"


def test_eval_open_pr_proposes_what_it_measured_on_anyone_s_model(hub, trained, tmp_path, monkeypatch):
    key_file = tmp_path / "bob.pem"
    key, _ = create_key(key_file)
    monkeypatch.setenv("HF_TOKEN", hub.bob_token)
    data = ("--data", "alice/repro-faq", "--config", "rerank", "--split", "test")
    local = run_cli("eval", str(trained.out), *data, "--open-pr")
    assert local.exit_code == 2 and "is a local folder (push it first)" in local.output
    alone = run_cli("eval", trained.ref, *data, "--key-file", str(key_file))
    assert alone.exit_code == 2 and "add --open-pr" in alone.output

    result = run_cli("eval", trained.ref, *data, "--open-pr", "--key-file", str(key_file))

    assert result.exit_code == 0, result.output
    number = int(result.output.split("opened pull request #")[1].split()[0])
    api = HfApi(token=hub.alice_token)
    path = api.hf_hub_download(
        trained.repo_id, ".eval_results/hubrerank-bob.yaml", revision=f"refs/pr/{number}"
    )
    entries = yaml.safe_load(Path(path).read_text())
    assert entries and all(entry["remeasured"] and entry["source"]["user"] == "bob" for entry in entries)
    for entry in entries:
        signed = read_token(entry["verifyToken"]).result
        assert (signed.model_sha, signed.verdict, signed.signer, signed.value) == (
            trained.sha,
            "NEW",
            "bob",
            entry["value"],
        )
        assert read_token(entry["verifyToken"]).signed_by(key.public_text)
    details = api.get_discussion_details(trained.repo_id, number)
    assert details.is_pull_request and details.status == "open" and details.author == "bob"


def test_register_on_a_hub_without_verification_keys_says_so_in_one_line(hub, tmp_path, monkeypatch):
    """huggingface.co has no verify-keys route (its badges are its own decision): a 404 there is one line."""
    from huggingface_hub import constants

    create_key(tmp_path / "k.pem")
    monkeypatch.setattr(constants, "ENDPOINT", f"{hub.url}/elsewhere")  # every path below it is a 404
    result = run_cli("keys", "register", "--key-file", str(tmp_path / "k.pem"))
    assert result.exit_code == 2
    assert "does not take verification keys (only hubrerank's embedded Hub does" in result.output


def test_pipeline_open_pr_signs_each_first_stage_the_reranker_was_measured_on(
    hub, trained, tmp_path, monkeypatch
):
    """bob measures alice's reranker behind BM25 and proposes it; the entry's notes name the first stage,
    the token signs it, and an entry stating another first stage (or none) with that token is not verified."""
    key_file = tmp_path / "bob.pem"
    create_key(key_file)
    monkeypatch.setenv("HF_TOKEN", hub.bob_token)
    assert run_cli("keys", "register", "--key-file", str(key_file)).exit_code == 0
    data = ("pipeline", "--data", "alice/repro-faq", "--config", "rerank", "--split", "test", "--bm25")
    local = run_cli(*data, "--reranker", str(trained.out), "--open-pr")
    assert local.exit_code == 2 and "is a local folder (push it first)" in local.output
    alone = run_cli(*data, "--open-pr")
    assert alone.exit_code == 2 and "add --reranker" in alone.output

    result = run_cli(
        *data, "--reranker", trained.ref, "--top-k", "5", "--open-pr", "--key-file", str(key_file)
    )

    assert result.exit_code == 0, result.output
    number = int(result.output.split("opened pull request #")[1].split()[0])
    api = HfApi(token=hub.alice_token)
    name = ".eval_results/hubrerank-bob-pipelines.yaml"
    [entry] = yaml.safe_load(
        Path(api.hf_hub_download(trained.repo_id, name, revision=f"refs/pr/{number}")).read_text()
    )
    assert entry["dataset"]["task_id"] == "rerank/test/retrieval/ndcg@10"
    assert "pipeline: BM25, top 5 reranked" in entry["notes"]
    signed = read_token(entry["verifyToken"]).result
    assert (signed.pipeline, signed.verdict, signed.value) == ("BM25, top 5 reranked", "NEW", entry["value"])
    api.merge_pull_request(trained.repo_id, number)
    store = Store(hub.data_dir)
    state = store.state(Repo("model", *trained.repo_id.split("/")))
    head = store.resolve(state, "main")
    keys = VerifyKeys(hub.data_dir)

    def check(notes: str | None):
        stated = (entry["dataset"]["id"], entry["dataset"]["task_id"], entry["dataset"].get("revision"))
        return check_entry(
            store, keys, state.repo, head, EntryFields(*stated, entry["value"], entry["verifyToken"], notes)
        )

    assert check(entry["notes"]).verified
    other = check(entry["notes"].replace("BM25", "alice/some-retriever@" + "0" * 40))
    assert not other.verified and other.reason == "signed for another pipeline than the entry's notes state"
    assert not check(None).verified  # the value alone, as if the reranker had ranked every document
