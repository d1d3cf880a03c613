"""8 concurrent clients pushing and pulling, to one server and to two servers sharing a data dir."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hubserver_helpers import ServerProcess, request

from hubrerank.server.objects import Repo
from hubrerank.server.storage import Store

CLIENTS = 8
TOKEN = "hrk_concurrent_" + "c" * 20


def _push_and_pull(url: str, token: str, worker: int, cache: Path) -> list[str]:
    """Commit twice to the worker's own repo and twice to a shared one, reading back every file."""
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(endpoint=url, token=token)
    own = f"alice/conc-{worker}"
    api.create_repo(own, exist_ok=True)
    shared_lfs = b"same bytes for every worker" * 10_000  # uploaded by all at once: deduplicated
    commits = []
    for round_ in range(2):
        data = os.urandom(200_000)
        ops = [CommitOperationAdd(f"w{round_}.bin", data), CommitOperationAdd("shared.bin", shared_lfs)]
        commits.append(api.create_commit(own, ops, commit_message=f"own {round_}").oid)
        note = f"worker {worker} round {round_}\n".encode()
        ops = [CommitOperationAdd(f"notes/{worker}-{round_}.txt", note)]
        commits.append(api.create_commit("alice/conc-shared", ops, commit_message=f"{worker}-{round_}").oid)
        path = api.hf_hub_download(own, f"w{round_}.bin", revision=commits[-2], cache_dir=cache)
        assert Path(path).read_bytes() == data
        path = api.hf_hub_download("alice/conc-shared", f"notes/{worker}-{round_}.txt", cache_dir=cache)
        assert Path(path).read_bytes() == note
    return commits


def _check_store(data_dir: Path, repo_id: str, commits: int) -> None:
    """The repo's history is linear with ``commits`` commits and every blob matches its sha256."""
    store = Store(data_dir)
    repo = Repo("model", *repo_id.split("/"))
    history = list(store.history(repo, store.resolve(store.state(repo), "main")))
    assert len(history) == commits
    for entry in history[0].tree.values():
        assert hashlib.sha256(store.read_blob(entry.sha256)).hexdigest() == entry.sha256


def test_eight_threads_push_and_pull(hub, tmp_path):
    from huggingface_hub import HfApi

    HfApi(endpoint=hub.url, token=hub.alice_token).create_repo("alice/conc-shared", exist_ok=True)
    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [
            pool.submit(_push_and_pull, hub.url, hub.alice_token, i, tmp_path / f"c{i}")
            for i in range(CLIENTS)
        ]
        commits = [c for f in futures for c in f.result()]
    assert len(set(commits)) == 4 * CLIENTS
    files = HfApi(endpoint=hub.url, token=hub.alice_token).list_repo_files("alice/conc-shared")
    assert len([f for f in files if f.startswith("notes/")]) == 2 * CLIENTS
    _check_store(hub.data_dir, "alice/conc-shared", 1 + 2 * CLIENTS)
    for i in range(CLIENTS):
        _check_store(hub.data_dir, f"alice/conc-{i}", 3)


def test_racing_commits_on_one_parent_let_exactly_one_win(hub):
    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(endpoint=hub.url, token=hub.alice_token)
    api.create_repo("alice/conc-race")
    parent = api.model_info("alice/conc-race").sha

    def commit(i: int) -> int:
        try:
            ops = [CommitOperationAdd(f"{i}.txt", b"x")]
            api.create_commit("alice/conc-race", ops, commit_message=str(i), parent_commit=parent)
        except HfHubHTTPError as error:
            return error.response.status_code
        return 200

    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = sorted(pool.map(commit, range(CLIENTS)))
    assert statuses == [200] + [412] * (CLIENTS - 1)


@pytest.fixture
def two_servers(tmp_path):
    """Two `hub serve` processes on one data dir, like ranks of a torchrun job using --hub local."""
    data_dir = tmp_path / "hub"
    servers = [ServerProcess(data_dir, [f"alice:{TOKEN}"]), ServerProcess(data_dir, [])]
    yield data_dir, servers
    for server in servers:
        server.stop()


def test_two_processes_serving_one_data_dir_lose_no_commit(two_servers, tmp_path):
    from huggingface_hub import HfApi

    data_dir, servers = two_servers

    def create(i: int) -> int:
        return request(servers[i % 2].url, "POST", "/api/repos/create", {"name": "conc-shared"}, TOKEN)[0]

    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = list(pool.map(create, range(CLIENTS)))
    assert sorted(statuses) == [200] + [409] * (CLIENTS - 1)
    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [
            pool.submit(_push_and_pull, servers[i % 2].url, TOKEN, i, tmp_path / f"c{i}")
            for i in range(CLIENTS)
        ]
        for future in futures:
            future.result()
    for server in servers:
        files = HfApi(endpoint=server.url, token=TOKEN).list_repo_files("alice/conc-shared")
        assert len([f for f in files if f.startswith("notes/")]) == 2 * CLIENTS
    _check_store(data_dir, "alice/conc-shared", 1 + 2 * CLIENTS)
