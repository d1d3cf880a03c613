"""A crash (SIGKILL) at any point leaves the previous state intact; state survives restarts."""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from hubserver_helpers import REPO_ROOT, ServerProcess, lfs_upload_href

from hubrerank.server.objects import AddFile, Repo
from hubrerank.server.storage import Store

TOKEN = "hrk_durable_" + "d" * 20
REPO = Repo("model", "alice", "crash")

# Runs one storage operation in a child that SIGKILLs itself at the N-th fsync or os.replace.
CRASHER = """
import os, signal, sys
from pathlib import Path
from hubrerank.server.objects import AddFile, DeleteFile, Repo
from hubrerank.server.storage import Store

store, kill_at, action = Store(Path(sys.argv[1])), int(sys.argv[2]), sys.argv[3]
calls = 0

def crashing(real):
    def call(*args, **kwargs):
        global calls
        calls += 1
        if calls == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    return call

os.replace, os.fsync = crashing(os.replace), crashing(os.fsync)
repo = Repo("model", "alice", "crash")
if action == "commit":
    entry = store.put_blob(b"version 2\\n")
    store.apply(repo, "main", [AddFile("weights.txt", entry), DeleteFile("old.txt")], title="v2", message="",
                author="alice")
elif action == "create":
    store.create_repo(Repo("model", "alice", "fresh"), private=False, author="alice")
else:
    store.create_tag(repo, "v1", "main", "")
print("DONE", flush=True)
"""


def _assert_readable(store: Store, repo: Repo) -> str:
    """Every file of the head commit is present with the right bytes; returns the head's title."""
    head = store.resolve(store.state(repo), "main")
    for path, entry in head.tree.items():
        assert hashlib.sha256(store.read_blob(entry.sha256)).hexdigest() == entry.sha256, path
    return head.title


@pytest.fixture
def baseline(tmp_path: Path) -> Path:
    store = Store(tmp_path / "baseline")
    store.initialize()
    store.create_repo(REPO, private=False, author="alice")
    entries = [
        AddFile("weights.txt", store.put_blob(b"version 1\n")),
        AddFile("old.txt", store.put_blob(b"old")),
    ]
    store.apply(REPO, "main", entries, title="v1", message="", author="alice")
    return tmp_path / "baseline"


@pytest.mark.parametrize("action", ["commit", "create", "tag"])
def test_sigkill_at_every_write_step_leaves_old_or_new_state(baseline: Path, tmp_path: Path, action: str):
    outcomes = []
    for kill_at in range(1, 40):
        data = tmp_path / f"crash-{kill_at}"
        shutil.copytree(baseline, data)
        run = subprocess.run(
            [sys.executable, "-c", CRASHER, str(data), str(kill_at), action],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        store = Store(data)
        store.initialize()
        if action == "commit":
            outcomes.append(_assert_readable(store, REPO))
        elif action == "create":
            fresh = Repo("model", "alice", "fresh")
            outcomes.append([s.repo for s in store.list_repos("alice")].count(fresh))
            if outcomes[-1]:
                _assert_readable(store, fresh)
        else:
            outcomes.append(sorted(store.state(REPO).tags))
        assert _assert_readable(store, REPO) in ("v1", "v2")
        if "DONE" in run.stdout:
            break
        assert run.returncode == -9, run.stderr
    assert len(outcomes) > 3, "the crash points were never reached"
    expected = {"commit": ("v1", "v2"), "create": (0, 1), "tag": ([], ["v1"])}[action]
    assert outcomes[0] == expected[0] and outcomes[-1] == expected[1]
    assert all(outcome in expected for outcome in outcomes)


def _slow_partial_put(href: str, data: bytes) -> http.client.HTTPConnection:
    """Start PUTting ``data`` to ``href`` and stop halfway (the connection is left open)."""
    parts = urlsplit(href)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.putrequest("PUT", f"{parts.path}?{parts.query}")
    conn.putheader("Content-Length", str(len(data)))
    conn.endheaders()
    conn.send(data[: len(data) // 2])
    time.sleep(0.3)
    return conn


def test_server_killed_during_and_after_lfs_upload_restarts_with_previous_state(tmp_path: Path):
    from huggingface_hub import CommitOperationAdd, HfApi

    data_dir = tmp_path / "hub"
    weights = os.urandom(3_000_000)
    server = ServerProcess(data_dir, [f"alice:{TOKEN}"])
    try:
        api = HfApi(endpoint=server.url, token=TOKEN)
        api.create_repo("alice/durable")
        first = api.create_commit(
            "alice/durable",
            [CommitOperationAdd("model.safetensors", weights), CommitOperationAdd("config.json", b"{}")],
            commit_message="v1",
        ).oid
        big = os.urandom(8_000_000)
        conn = _slow_partial_put(lfs_upload_href(server.url, "alice/durable", big, TOKEN), big)
        server.kill()  # during the upload
        conn.close()

        server = ServerProcess(data_dir, [])  # the users were kept in the data dir
        api = HfApi(endpoint=server.url, token=TOKEN)
        assert api.model_info("alice/durable").sha == first
        path = api.hf_hub_download("alice/durable", "model.safetensors", cache_dir=tmp_path / "c1")
        assert Path(path).read_bytes() == weights
        href = lfs_upload_href(server.url, "alice/durable", big, TOKEN)
        assert href is not None, "a half-uploaded object must not count as stored"
        parts = urlsplit(href)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        conn.request("PUT", f"{parts.path}?{parts.query}", body=big)
        assert conn.getresponse().status == 200
        server.kill()  # right after the upload, before any commit

        server = ServerProcess(data_dir, [])
        api = HfApi(endpoint=server.url, token=TOKEN)
        assert api.model_info("alice/durable").sha == first
        assert lfs_upload_href(server.url, "alice/durable", big, TOKEN) is None  # the upload survived
        add_big = [CommitOperationAdd("big.bin", big)]
        second = api.create_commit("alice/durable", add_big, commit_message="v2").oid
        path = api.hf_hub_download("alice/durable", "big.bin", revision=second, cache_dir=tmp_path / "c2")
        assert Path(path).read_bytes() == big
        assert [c.title for c in api.list_repo_commits("alice/durable")] == ["v2", "v1", "initial commit"]
    finally:
        code = server.stop()
    assert code == 0
