"""Benchmarks (eval.yaml) and leaderboards on the embedded Hub, through huggingface_hub's own client."""

from __future__ import annotations

import hashlib
import json

import pytest
import yaml
from hubserver_helpers import lfs_upload_href, request
from huggingface_hub import EvalResultEntry, HfApi, eval_result_entries_to_yaml
from huggingface_hub.errors import BadRequestError, HfHubHTTPError, RepositoryNotFoundError

EVAL_YAML = b"""name: FAQ test
description: a small benchmark
evaluation_framework: hubrerank
tasks:
  - id: default/test/ndcg@10/all-positives
    config: default
    split: test
    metric: ndcg@10
    metric_definition: all-positives
    at_k: 10
    field_spec: {input: query}
  - id: other
    config: default
    split: validation
"""


@pytest.fixture
def api(hub) -> HfApi:
    return HfApi(endpoint=hub.url, token=hub.alice_token)


@pytest.fixture
def bob(hub) -> HfApi:
    return HfApi(endpoint=hub.url, token=hub.bob_token)


@pytest.fixture
def name(request) -> str:
    return request.node.name.replace("_", "-").replace("[", "-").replace("]", "")[:60]


@pytest.fixture
def dataset(api, name) -> str:
    """A fresh dataset repo of alice with the benchmark above."""
    repo_id = f"alice/bench-{name}"
    api.create_repo(repo_id, repo_type="dataset")
    api.upload_file(path_or_fileobj=EVAL_YAML, path_in_repo="eval.yaml", repo_id=repo_id, repo_type="dataset")
    return repo_id


def _results(dataset: str, value: float, task: str = "default/test/ndcg@10/all-positives", **more) -> bytes:
    entry = EvalResultEntry(dataset_id=dataset, task_id=task, value=value, **more)
    return yaml.safe_dump(eval_result_entries_to_yaml([entry])).encode()


def _model(api: HfApi, repo_id: str, files: dict[str, bytes], private: bool = False) -> str:
    api.create_repo(repo_id, private=private)
    for path, data in files.items():
        api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id=repo_id)
    return api.repo_info(repo_id).sha


def _first_line_400(call) -> str:
    with pytest.raises(BadRequestError) as caught:
        call()
    message = caught.value.server_message or ""
    assert "\n" not in message.strip()
    return message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"name: x\ntasks: [{id: a, config: default, split: test}]\n", "'evaluation_framework' is required"),
        (b"name: x\nevaluation_framework: hubrerank\ntasks: {}\n", "'tasks' must be a list, not dict"),
        (b"name: x\nevaluation_framework: hubrerank\ntasks: []\n", "'tasks' must list at least one task"),
        (
            b"name: x\nevaluation_framework: hubrerank\ntasks: [{id: 3, config: default, split: test}]\n",
            "'tasks[0].id' must be a string, not int",
        ),
        (
            b"name: x\nevaluation_framework: hubrerank\ntasks: [{id: a, config: default}]\n",
            "'tasks[0].split' is required",
        ),
        (
            b"name: x\nevaluation_framework: hubrerank\n"
            b"tasks: [{id: a, config: d, split: t}, {id: a, config: d, split: v}]\n",
            "'tasks[1].id' 'a' is the id of an earlier task",
        ),
        (
            b"name: x\nevaluation_framework: hubrerank\ntasks: [{id: a, config: d, split: t, at_k: ten}]\n",
            "'tasks[0].at_k' must be an integer, not str",
        ),
        (b"name: &n x\nevaluation_framework: *n\ntasks: []\n", "YAML aliases (*name) are not allowed"),
        (b"- just\n- a list\n", "eval.yaml: must be a YAML mapping"),
        (b"name: [unclosed\n", "eval.yaml is not acceptable YAML"),
        (b"name: x\ndescription: " + b"y" * (1 << 20) + b"\n", "the embedded Hub accepts at most 65536"),
    ],
    ids=[
        "no-framework",
        "tasks-dict",
        "no-tasks",
        "id-int",
        "no-split",
        "dup-id",
        "at-k",
        "alias",
        "list",
        "yaml",
        "1mb",
    ],
)
def test_malformed_eval_yaml_is_refused_whole(api, name, text, expected):
    repo_id = f"alice/badbench-{name}"
    api.create_repo(repo_id, repo_type="dataset")
    before = api.repo_info(repo_id, repo_type="dataset").sha

    def push():
        api.upload_file(path_or_fileobj=text, path_in_repo="eval.yaml", repo_id=repo_id, repo_type="dataset")

    message = _first_line_400(push)
    assert message.startswith("eval.yaml"), message
    assert expected in message
    assert api.repo_info(repo_id, repo_type="dataset").sha == before  # nothing stored
    assert "eval.yaml" not in api.list_repo_files(repo_id, repo_type="dataset")


def test_eval_yaml_in_a_model_repo_or_a_subfolder_is_an_ordinary_file(api, name):
    repo_id = f"alice/plain-{name}"
    api.create_repo(repo_id)
    api.upload_file(path_or_fileobj=b"not: [a benchmark", path_in_repo="eval.yaml", repo_id=repo_id)
    assert "eval.yaml" in api.list_repo_files(repo_id)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"dataset: {id: a/b, task_id: t}\nvalue: 1\n", "must be a YAML list of results"),
        (b"- dataset: {id: a/b, task_id: t}\n  value: high\n", "'[0].value' must be a number"),
        (b"- dataset: {id: a/b, task_id: t}\n  value: true\n", "'[0].value' must be a number"),
        (b"- dataset: {id: a/b}\n  value: 0.5\n", "'[0].dataset.task_id' is required"),
        (b"- dataset: a/b\n  value: 0.5\n", "'[0].dataset' must be a mapping, not str"),
        (
            b"- dataset: {id: a/b, task_id: t}\n  value: 0.5\n  source: {name: x}\n",
            "'[0].source.url' is required",
        ),
        (b"- dataset: {id: a/b, task_id: t}\n  value: .nan\n", "'[0].value' must be a finite number"),
        (
            b"- dataset: {id: a/b, task_id: t}\n  value: 1\n  remeasured: yes-ish\n",
            "'[0].remeasured' must be",
        ),
        (b"- dataset: &d {id: a/b, task_id: t}\n  value: 1\n- dataset: *d\n  value: 2\n", "YAML aliases"),
        (
            b"- dataset: {id: a/b, task_id: t}\n  value: 1\n  notes: " + b"n" * (1 << 20) + b"\n",
            "at most 65536",
        ),
    ],
    ids=[
        "not-list",
        "value-str",
        "value-bool",
        "no-task",
        "dataset-str",
        "source-url",
        "nan",
        "remeasured",
        "alias",
        "1mb",
    ],
)
def test_malformed_eval_results_are_refused_whole(api, name, text, expected):
    repo_id = f"alice/badres-{name}"
    api.create_repo(repo_id)
    before = api.repo_info(repo_id).sha

    def push():
        api.upload_file(path_or_fileobj=text, path_in_repo=".eval_results/x.yaml", repo_id=repo_id)

    message = _first_line_400(push)
    assert message.startswith(".eval_results/x.yaml"), message
    assert expected in message
    assert api.repo_info(repo_id).sha == before


def test_results_naming_an_unknown_benchmark_are_stored_and_left_off(api, dataset, name):
    """As on huggingface.co: an entry for a dataset that is not a benchmark, or a task it lacks, is kept."""
    files = {
        ".eval_results/nobench.yaml": _results("alice/not-a-benchmark", 0.9),
        ".eval_results/notask.yaml": _results(dataset, 0.8, task="no-such-task"),
        ".eval_results/nested/deeper.yaml": _results(dataset, 0.7),  # not .eval_results/*.yaml
    }
    _model(api, f"alice/unknown-{name}", files)
    assert api.get_dataset_leaderboard(dataset, base_model_only=False) == []


def test_leaderboard_ranks_entries_with_their_provenance(api, hub, dataset, name):
    source = {"source_url": "https://example.org/report", "source_name": "Report", "source_user": "alice"}
    first = _model(api, f"alice/lb-a-{name}", {".eval_results/a.yaml": _results(dataset, 0.61, **source)})
    card = b"---\nbase_model: alice/base\n---\n# fine-tune\n"
    files = {  # one commit each: b.yaml is written by the last one
        "README.md": card,
        ".eval_results/b.yaml": _results(dataset, 0.72, dataset_revision="abc123", date="2026-01-15"),
    }
    written = _model(api, f"alice/lb-b-{name}", files)
    other = _results(dataset, 0.5, task="other", notes="validation split")
    api.upload_file(path_or_fileobj=other, path_in_repo=".eval_results/c.yaml", repo_id=f"alice/lb-a-{name}")

    board = api.get_dataset_leaderboard(dataset, base_model_only=False)
    assert [(e.model_id, e.rank, e.value) for e in board] == [
        (f"alice/lb-b-{name}", 1, 0.72),
        (f"alice/lb-a-{name}", 2, 0.61),
        (f"alice/lb-a-{name}", 1, 0.5),
    ]
    best = board[0]
    assert best.verified is False and best.pull_request is None
    assert best.author.username == "alice" and best.filename == ".eval_results/b.yaml"
    extra = vars(best)
    assert extra["taskId"] == "default/test/ndcg@10/all-positives"
    assert extra["metric"] == {"name": "ndcg@10", "definition": "all-positives", "atK": 10}
    assert extra["badge"] == "self-reported" and extra["remeasured"] is False
    assert extra["sha"] == written and extra["datasetRevision"] == "abc123" and extra["date"] == "2026-01-15"
    second = vars(board[1])
    assert second["sha"] == first  # the commit that wrote a.yaml, not the later head
    assert second["date"] and board[1].source["url"] == "https://example.org/report"
    assert board[1].source["isExternal"] is True
    assert second["metric"]["definition"] == "all-positives"
    assert vars(board[2])["metric"] is None and board[2].notes == "validation split"
    # without base_model=false, as on the Hub, fine-tunes that declare a base model are left out
    assert [e.model_id for e in api.get_dataset_leaderboard(dataset)] == [f"alice/lb-a-{name}"] * 2


def test_entry_read_again_after_a_new_commit(api, dataset, name):
    repo_id = f"alice/moving-{name}"
    _model(api, repo_id, {".eval_results/a.yaml": _results(dataset, 0.3)})
    assert [e.value for e in api.get_dataset_leaderboard(dataset, base_model_only=False)] == [0.3]
    api.upload_file(
        path_or_fileobj=_results(dataset, 0.4),
        path_in_repo=".eval_results/a.yaml",
        repo_id=repo_id,
    )
    head = api.repo_info(repo_id).sha
    board = api.get_dataset_leaderboard(dataset, base_model_only=False)
    assert [(e.value, vars(e)["sha"]) for e in board] == [(0.4, head)]


def test_remeasured_is_what_the_entry_states(api, dataset, name):
    text = b"- dataset: {id: %s, task_id: other}\n  value: 0.25\n  remeasured: true\n" % dataset.encode()
    text += b"  date: 2025-01-15T10:30:00Z\n"  # unquoted: YAML reads a datetime
    _model(api, f"alice/remeasured-{name}", {".eval_results/r.yaml": text})
    (entry,) = api.get_dataset_leaderboard(dataset, base_model_only=False)
    assert vars(entry)["remeasured"] is True
    assert vars(entry)["date"] == "2025-01-15T10:30:00+00:00"


def test_private_models_are_listed_only_to_their_readers(hub, api, bob, dataset, name):
    _model(api, f"alice/secret-{name}", {".eval_results/a.yaml": _results(dataset, 0.9)}, private=True)
    _model(api, f"alice/open-{name}", {".eval_results/a.yaml": _results(dataset, 0.1)})
    assert [e.model_id for e in api.get_dataset_leaderboard(dataset, base_model_only=False)] == [
        f"alice/secret-{name}",
        f"alice/open-{name}",
    ]
    assert [e.model_id for e in bob.get_dataset_leaderboard(dataset, base_model_only=False)] == [
        f"alice/open-{name}"
    ]
    status, _, body = request(hub.url, "GET", f"/api/datasets/{dataset}/leaderboard?base_model=false")
    assert status == 200 and [e["modelId"] for e in json.loads(body)] == [f"alice/open-{name}"]


def test_leaderboard_of_a_dataset_that_is_not_a_benchmark_or_not_readable(api, bob, name):
    plain = f"alice/plain-ds-{name}"
    api.create_repo(plain, repo_type="dataset")
    with pytest.raises(HfHubHTTPError) as caught:
        api.get_dataset_leaderboard(plain)
    assert caught.value.response.status_code == 404
    assert "has no leaderboard: its main branch has no eval.yaml" in (caught.value.server_message or "")
    secret = f"alice/secret-ds-{name}"
    api.create_repo(secret, repo_type="dataset", private=True)
    with pytest.raises(RepositoryNotFoundError):
        bob.get_dataset_leaderboard(secret)


def test_an_eval_yaml_sent_as_an_lfs_object_is_checked_too(hub, api, name):
    """A client may commit any file through LFS: the check then reads the uploaded object."""
    repo_id = f"alice/lfsbench-{name}"
    api.create_repo(repo_id, repo_type="dataset")
    before = api.repo_info(repo_id, repo_type="dataset").sha
    data = b"name: x\nevaluation_framework: hubrerank\ntasks: [{id: a, config: d}]\n"
    href = lfs_upload_href(hub.url, f"datasets/{repo_id}", data, hub.alice_token)
    assert href is not None
    status, _, _ = request(hub.url, "PUT", href.removeprefix(hub.url), data, hub.alice_token)
    assert status == 200
    oid = hashlib.sha256(data).hexdigest()
    lines = [
        {"key": "header", "value": {"summary": "lfs eval.yaml", "description": ""}},
        {"key": "lfsFile", "value": {"path": "eval.yaml", "algo": "sha256", "oid": oid, "size": len(data)}},
    ]
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    status, headers, answer = request(
        hub.url, "POST", f"/api/datasets/{repo_id}/commit/main", body, hub.alice_token,
        {"Content-Type": "application/x-ndjson"},
    )  # fmt: skip
    assert status == 400, answer
    assert headers["x-error-message"] == "eval.yaml: 'tasks[0].split' is required"
    assert api.repo_info(repo_id, repo_type="dataset").sha == before


def test_entry_sources_and_the_badge_rule_are_seams(hub, api, dataset, name):
    """Another source of entries (here a branch, standing in for a pull request's head) and another badge
    rule plug into the aggregation; a source naming a commit that is gone is skipped, not an error."""
    from hubrerank.server.leaderboards import Leaderboards, Origin, main_branch
    from hubrerank.server.objects import Repo
    from hubrerank.server.storage import Store

    repo_id = f"alice/seams-{name}"
    _model(api, repo_id, {".eval_results/a.yaml": _results(dataset, 0.4)})
    api.create_branch(repo_id, branch="candidate")
    api.upload_file(
        path_or_fileobj=_results(dataset, 0.6), path_in_repo=".eval_results/b.yaml", repo_id=repo_id,
        revision="candidate",
    )  # fmt: skip

    def candidate(state):
        if state.repo.id != repo_id:
            return []
        return [(Origin("candidate", 7), state.branches["candidate"]), (Origin("gone", 8), "0" * 40)]

    store = Store(hub.data_dir)
    boards = Leaderboards(store, (main_branch, candidate), badge=lambda h: "test-" + h.origin.ref)
    benchmark = boards.benchmark(store.state(Repo("dataset", *dataset.split("/"))))
    held = boards.entries(Repo("dataset", *dataset.split("/")), benchmark, None)
    found = sorted((boards.badge(h), h.origin.pull_request or 0, h.entry.value, h.file.path) for h in held)
    assert found == [
        ("test-candidate", 7, 0.4, ".eval_results/a.yaml"),
        ("test-candidate", 7, 0.6, ".eval_results/b.yaml"),
        ("test-main", 0, 0.4, ".eval_results/a.yaml"),
    ]


def test_results_files_stored_before_the_checks_are_left_off(hub, api, dataset, name):
    """A data dir written by an older server may hold malformed results files: the leaderboard skips
    them and lists the model's valid ones."""
    from hubrerank.server.objects import AddFile, Repo
    from hubrerank.server.storage import Store

    repo_id = f"alice/legacy-{name}"
    _model(api, repo_id, {".eval_results/good.yaml": _results(dataset, 0.5)})
    store = Store(hub.data_dir)
    bad = AddFile(".eval_results/bad.yaml", store.put_blob(b"- dataset: {id: x}\n  value: high\n"))
    store.apply(Repo("model", *repo_id.split("/")), "main", [bad], title="old", message="", author="alice")
    board = api.get_dataset_leaderboard(dataset, base_model_only=False)
    assert [(e.model_id, e.filename) for e in board] == [(repo_id, ".eval_results/good.yaml")]


def test_open_pull_requests_are_community_until_merged_then_verified(hub, api, bob, dataset, name):
    """bob re-measures alice's model and proposes the signed entry as a pull request: community while
    it is open (only the files it adds, not main's again), verified once alice merges it."""
    from huggingface_hub import CommitOperationAdd

    from hubrerank.server.keys import VerifyKeys
    from hubrerank.signatures import SignedResult, SigningKey

    repo_id = f"alice/pr-{name}"
    sha = _model(
        api, repo_id, {"model.safetensors": b"weights", ".eval_results/a.yaml": _results(dataset, 0.4)}
    )
    key = SigningKey.generate()
    VerifyKeys(hub.data_dir).add("bob", key.public_text)
    task = "default/test/ndcg@10/all-positives"
    signed = SignedResult(
        repo_id, sha, dataset, None, task, "ndcg@10", "all-positives", 0.6, 0.001, "NEW", "0.1.0", "bob",
        "2026-12-07T10:00:00Z",
    )  # fmt: skip
    entry = _results(dataset, 0.6, verify_token=key.sign(signed))
    path = ".eval_results/hubrerank-bob.yaml"
    pr = bob.create_commit(
        repo_id, [CommitOperationAdd(path, entry)], commit_message="re-measured", create_pr=True
    )
    closed = bob.create_commit(
        repo_id, [CommitOperationAdd(path, entry)], commit_message="again", create_pr=True
    )
    bob.change_discussion_status(repo_id, closed.pr_num, "closed")

    def board() -> list[tuple[float, str, int | None, str]]:
        entries = api.get_dataset_leaderboard(dataset, base_model_only=False)
        found = [vars(e) for e in entries if e.model_id == repo_id]
        return [(e["value"], e["badge"], e["pull_request"], e["ref"]) for e in found]

    assert board() == [
        (0.6, "community", pr.pr_num, f"refs/pr/{pr.pr_num}"),
        (0.4, "self-reported", None, "main"),
    ]
    api.merge_pull_request(repo_id, pr.pr_num)
    assert board() == [(0.6, "verified", None, "main"), (0.4, "self-reported", None, "main")]
