"""Round trips through huggingface_hub and datasets against the session's embedded Hub."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import pytest
from hubserver_helpers import lfs_upload_href, ndjson_commit, request

README = """---
license: mit
library_name: sentence-transformers
pipeline_tag: text-ranking
tags:
- reranker
---

# A model
"""


@pytest.fixture(scope="module")
def api(hub):
    from huggingface_hub import HfApi

    return HfApi(endpoint=hub.url, token=hub.alice_token)


@pytest.fixture(scope="module")
def model_repo(api, tmp_path_factory):
    """alice/srv-model: a README, a config, a nested file and an 'LFS' safetensors file."""
    folder = tmp_path_factory.mktemp("srv-model")
    (folder / "README.md").write_text(README)
    (folder / "config.json").write_text('{"a": 1}')
    (folder / "sub").mkdir()
    (folder / "sub" / "notes.txt").write_text("hello\n")
    (folder / "model.safetensors").write_bytes(os.urandom(300_000))
    api.create_repo("alice/srv-model", exist_ok=True)
    info = api.upload_folder(folder_path=folder, repo_id="alice/srv-model", commit_message="first")
    return folder, info.oid


def test_new_repo_starts_with_gitattributes_commit(api):
    api.create_repo("alice/srv-fresh", repo_type="dataset")
    commits = api.list_repo_commits("alice/srv-fresh", repo_type="dataset")
    assert [c.title for c in commits] == ["initial commit"]
    assert len(commits[0].commit_id) == 40
    assert api.list_repo_files("alice/srv-fresh", repo_type="dataset") == [".gitattributes"]
    attributes = api.hf_hub_download("alice/srv-fresh", ".gitattributes", repo_type="dataset")
    assert "*.parquet filter=lfs" in Path(attributes).read_text()


def test_create_existing_repo_is_409_with_url(hub, api):
    from huggingface_hub.errors import HfHubHTTPError

    api.create_repo("alice/srv-exists")
    with pytest.raises(HfHubHTTPError) as error:
        api.create_repo("alice/srv-exists")
    assert error.value.response.status_code == 409
    assert json.loads(error.value.response.content)["url"] == f"{hub.url}/alice/srv-exists"
    assert api.create_repo("alice/srv-exists", exist_ok=True).repo_id == "alice/srv-exists"


def test_snapshot_round_trip_is_byte_identical(api, model_repo, tmp_path):
    from huggingface_hub import snapshot_download

    folder, sha = model_repo
    local = snapshot_download("alice/srv-model", revision=sha, cache_dir=tmp_path, endpoint=api.endpoint)
    for path in folder.rglob("*"):
        if path.is_file():
            assert (Path(local) / path.relative_to(folder)).read_bytes() == path.read_bytes(), path


def test_repo_info_reads_card_and_blobs(api, model_repo):
    _, sha = model_repo
    info = api.model_info("alice/srv-model", revision=sha, files_metadata=True)
    assert info.sha == sha and info.private is False
    assert info.card_data.license == "mit"
    assert info.library_name == "sentence-transformers" and info.pipeline_tag == "text-ranking"
    assert "reranker" in info.tags
    siblings = {s.rfilename: s for s in info.siblings}
    weights = siblings["model.safetensors"]
    assert weights.lfs is not None and weights.size == 300_000 and weights.lfs.size == 300_000
    assert siblings["config.json"].lfs is None and siblings["config.json"].size == 8


def test_resolve_headers_head_and_ranges(hub, model_repo):
    folder, sha = model_repo
    status, headers, _ = request(hub.url, "HEAD", f"/alice/srv-model/resolve/{sha}/model.safetensors")
    weights = (folder / "model.safetensors").read_bytes()
    digest = hashlib.sha256(weights).hexdigest()
    assert status == 200
    assert headers["x-repo-commit"] == sha
    assert headers["x-linked-etag"] == f'"{digest}"' and headers["x-linked-size"] == str(len(weights))
    assert headers["accept-ranges"] == "bytes" and headers["content-length"] == str(len(weights))
    status, headers, body = request(
        hub.url, "GET", "/alice/srv-model/resolve/main/model.safetensors", headers={"Range": "bytes=10-19"}
    )
    assert status == 206 and body == weights[10:20]
    assert headers["content-range"] == f"bytes 10-19/{len(weights)}"
    status, headers, body = request(hub.url, "GET", "/alice/srv-model/resolve/main/config.json")
    git_oid = hashlib.sha1(b"blob 8\x00" + body).hexdigest()
    assert status == 200 and headers["etag"] == f'"{git_oid}"' and "x-linked-etag" not in headers
    head = request(hub.url, "HEAD", "/alice/srv-model/resolve/main/config.json")[1]
    same = ("etag", "content-length", "content-type", "last-modified", "accept-ranges", "x-repo-commit")
    assert {k: head[k] for k in same} == {k: headers[k] for k in same}  # small files: answered inline


def test_missing_entry_revision_and_repo_map_to_client_errors(api, model_repo):
    from huggingface_hub.errors import (
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    with pytest.raises(RemoteEntryNotFoundError):
        api.hf_hub_download("alice/srv-model", "nope.txt")
    with pytest.raises(RevisionNotFoundError):
        api.model_info("alice/srv-model", revision="no-such-branch")
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("alice/no-such-repo")
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("unnamespaced")


def test_history_is_immutable_and_readable_by_sha_and_tag(api, model_repo):
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    _, first = model_repo
    api.create_tag("alice/srv-model", tag="srv-v1", revision=first)
    second = api.create_commit(
        "alice/srv-model",
        [CommitOperationAdd("config.json", b'{"a": 2}'), CommitOperationDelete("sub/notes.txt")],
        commit_message="second",
    ).oid
    assert second != first
    for revision, expected in [("srv-v1", '{"a": 1}'), (second, '{"a": 2}')]:
        path = api.hf_hub_download("alice/srv-model", "config.json", revision=revision)
        assert Path(path).read_text() == expected
    assert "sub/notes.txt" in api.list_repo_files("alice/srv-model", revision=first)
    assert "sub/notes.txt" not in api.list_repo_files("alice/srv-model", revision=second)
    titles = [c.title for c in api.list_repo_commits("alice/srv-model", revision=second)]
    assert titles[:2] == ["second", "first"] and titles[-1] == "initial commit"


def test_copy_of_lfs_file_and_folder_delete(api, model_repo, tmp_path):
    from huggingface_hub import CommitOperationCopy, CommitOperationDelete

    folder, first = model_repo
    api.create_branch("alice/srv-model", branch="copies", revision=first)
    ops = [
        CommitOperationCopy("model.safetensors", "backup/model.safetensors", src_revision=first),
        CommitOperationDelete("sub/"),
    ]
    sha = api.create_commit("alice/srv-model", ops, commit_message="copy", revision="copies").oid
    files = api.list_repo_files("alice/srv-model", revision=sha)
    assert "backup/model.safetensors" in files and not any(f.startswith("sub/") for f in files)
    backup = "backup/model.safetensors"
    path = api.hf_hub_download("alice/srv-model", backup, revision=sha, cache_dir=tmp_path)
    assert Path(path).read_bytes() == (folder / "model.safetensors").read_bytes()


def test_parent_commit_mismatch_is_412(api):
    from huggingface_hub import CommitOperationAdd
    from huggingface_hub.errors import HfHubHTTPError

    api.create_repo("alice/srv-parent")
    base = api.model_info("alice/srv-parent").sha
    api.create_commit(
        "alice/srv-parent", [CommitOperationAdd("a.txt", b"a")], commit_message="a", parent_commit=base
    )
    with pytest.raises(HfHubHTTPError) as error:
        api.create_commit(
            "alice/srv-parent", [CommitOperationAdd("b.txt", b"b")], commit_message="b", parent_commit=base
        )
    assert error.value.response.status_code == 412
    assert api.list_repo_files("alice/srv-parent") == [".gitattributes", "a.txt"]


def test_branches_tags_and_refs(api, model_repo):
    from huggingface_hub import CommitOperationAdd
    from huggingface_hub.errors import HfHubHTTPError, RevisionNotFoundError

    _, first = model_repo
    api.create_branch("alice/srv-model", branch="feature/x", revision=first)
    api.create_commit(
        "alice/srv-model", [CommitOperationAdd("x.txt", b"x")], commit_message="on x", revision="feature/x"
    )
    refs = api.list_repo_refs("alice/srv-model")
    branches = {b.name: b.target_commit for b in refs.branches}
    assert set(branches) >= {"main", "feature/x"} and branches["feature/x"] != first
    assert "x.txt" in api.list_repo_files("alice/srv-model", revision="feature/x")
    assert "x.txt" not in api.list_repo_files("alice/srv-model")
    with pytest.raises(HfHubHTTPError) as error:
        api.create_branch("alice/srv-model", branch="feature/x")
    assert error.value.response.status_code == 409
    api.create_branch("alice/srv-model", branch="feature/x", exist_ok=True)
    api.delete_branch("alice/srv-model", branch="feature/x")
    with pytest.raises(RevisionNotFoundError):
        api.list_repo_files("alice/srv-model", revision="feature/x")


def test_tree_recursive_expand_and_paths_info(api, model_repo):
    _, first = model_repo
    top = {e.path for e in api.list_repo_tree("alice/srv-model", revision=first)}
    assert "sub" in top and "sub/notes.txt" not in top
    entries = {
        e.path: e for e in api.list_repo_tree("alice/srv-model", revision=first, recursive=True, expand=True)
    }
    assert entries["sub/notes.txt"].last_commit.oid == first
    assert entries["model.safetensors"].lfs is not None and entries["config.json"].lfs is None
    assert type(entries["sub"]).__name__ == "RepoFolder"
    infos = api.get_paths_info("alice/srv-model", ["config.json", "sub", "missing.txt"], revision=first)
    kinds = sorted((i.path, type(i).__name__) for i in infos)
    assert kinds == [("config.json", "RepoFile"), ("sub", "RepoFolder")]


def test_preupload_marks_lfs_by_pattern_size_and_nul_byte(hub):
    files = [
        {"path": "data/train.parquet", "size": 10, "sample": base64.b64encode(b"PAR1").decode()},
        {"path": "big.txt", "size": 10 * 1024 * 1024, "sample": base64.b64encode(b"text").decode()},
        {"path": "binary.dat", "size": 3, "sample": base64.b64encode(b"a\x00b").decode()},
        {"path": "notes.txt", "size": 4, "sample": base64.b64encode(b"text").decode()},
    ]
    request(hub.url, "POST", "/api/repos/create", {"name": "srv-preupload"}, hub.alice_token)
    custom = ndjson_commit("own attributes", {".gitattributes": b"*.txt text\n"})  # parquet still LFS
    api = "/api/models/alice/srv-preupload"
    assert request(hub.url, "POST", f"{api}/commit/main", custom, hub.alice_token)[0] == 200
    status, _, body = request(hub.url, "POST", f"{api}/preupload/main", {"files": files}, hub.alice_token)
    assert status == 200
    modes = {f["path"]: f["uploadMode"] for f in json.loads(body)["files"]}
    assert modes == {
        "data/train.parquet": "lfs",
        "big.txt": "lfs",
        "binary.dat": "lfs",
        "notes.txt": "regular",
    }


def test_lfs_batch_skips_objects_already_stored(hub, model_repo):
    folder, _ = model_repo
    weights = (folder / "model.safetensors").read_bytes()
    assert lfs_upload_href(hub.url, "alice/srv-model", weights, hub.alice_token) is None
    assert lfs_upload_href(hub.url, "alice/srv-model", os.urandom(100), hub.alice_token) is not None


def test_commit_with_lfs_object_never_uploaded_fails(hub):
    oid = hashlib.sha256(b"never uploaded").hexdigest()
    request(hub.url, "POST", "/api/repos/create", {"name": "srv-noobject"}, hub.alice_token)
    lines = [
        {"key": "header", "value": {"summary": "x"}},
        {"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": oid, "size": 14}},
    ]
    payload = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    url = "/api/models/alice/srv-noobject/commit/main"
    ndjson = {"Content-Type": "application/x-ndjson"}
    status, _, _ = request(hub.url, "POST", url, payload, hub.alice_token, ndjson)
    assert status == 422
    status, _, body = request(hub.url, "POST", url, ndjson_commit("ok", {"a.txt": b"a"}), hub.alice_token)
    assert status == 200 and len(json.loads(body)["commitOid"]) == 40


def test_settings_visibility_and_delete(api):
    from huggingface_hub.errors import RepositoryNotFoundError

    api.create_repo("alice/srv-settings")
    api.update_repo_settings("alice/srv-settings", private=True)
    assert api.model_info("alice/srv-settings").private is True
    api.update_repo_settings("alice/srv-settings", private=False)
    assert api.model_info("alice/srv-settings").private is False
    api.delete_repo("alice/srv-settings")
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("alice/srv-settings")
    api.delete_repo("alice/srv-settings", missing_ok=True)


def test_validate_yaml_and_whoami(hub, api):
    assert api.whoami()["name"] == "alice"
    assert [o["name"] for o in api.whoami()["orgs"]] == ["acme"]
    status, _, body = request(hub.url, "POST", "/api/validate-yaml", {"content": "---\nlicense: mit\n---\n"})
    assert status == 200 and json.loads(body)["errors"] == []
    status, _, body = request(hub.url, "POST", "/api/validate-yaml", {"content": "---\nlicense: [mit\n---\n"})
    assert status == 400 and json.loads(body)["errors"]


def test_dataset_push_to_hub_and_load_dataset(api, tmp_path):
    from datasets import Dataset, DatasetDict, load_dataset

    data = DatasetDict(
        {
            "train": Dataset.from_dict({"query": ["q1", "q2", "q3"], "label": [1.0, 0.0, 1.0]}),
            "test": Dataset.from_dict({"query": ["q4"], "label": [0.0]}),
        }
    )
    data.push_to_hub("alice/srv-pairs", token=api.token)
    files = api.list_repo_files("alice/srv-pairs", repo_type="dataset")
    assert "data/train-00000-of-00001.parquet" in files
    info = api.dataset_info("alice/srv-pairs", files_metadata=True)
    assert all(s.lfs for s in info.siblings if s.rfilename.endswith(".parquet"))
    api.create_tag("alice/srv-pairs", tag="v1", repo_type="dataset")
    data["train"].select(range(1)).push_to_hub("alice/srv-pairs", split="train", token=api.token)
    now = load_dataset("alice/srv-pairs", split="train", cache_dir=str(tmp_path / "a"))
    then = load_dataset("alice/srv-pairs", split="train", revision="v1", cache_dir=str(tmp_path / "b"))
    assert now["query"] == ["q1"] and then["query"] == ["q1", "q2", "q3"]
