"""The embedded Hub's leaderboard over many model repos: cold (nothing cached), warm, and after one commit.

Writes a fresh data dir with one benchmark dataset (``eval.yaml``, one task) and ``--models`` model repos
of two commits each (a README declaring no base model, then ``.eval_results/r.yaml`` naming the task),
through the server's own store, then serves it in-process (``HubServer``) and times
``GET /api/datasets/{id}/leaderboard?base_model=false`` over a kept-alive connection: the first request
of a new server (every repo's results parsed and their history walked: what the request would cost
without the cache), the median of ``--repeat`` warm requests (two small JSON files read per repo), and
the first request after one model repo got a new commit (that repo read again). The baseline is the
cold figure: the same request without the (repo, commit) cache.

Prints one JSON object.

Usage: python benchmarks/leaderboard.py [--models 300] [--repeat 5]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import tempfile
import time
from pathlib import Path

TOKEN = "hrk_bench_" + "l" * 30
DATASET = "bench/faq"
TASK = "default/test/ndcg@10/all-positives"
EVAL_YAML = f"""name: FAQ
evaluation_framework: hubrerank
tasks:
  - {{id: {TASK}, config: default, split: test, metric: ndcg@10, metric_definition: all-positives, at_k: 10}}
"""


def _populate(data_dir: Path, models: int) -> None:
    from hubrerank.server.objects import AddFile, Repo
    from hubrerank.server.storage import Store

    store = Store(data_dir)
    store.initialize()
    dataset = Repo("dataset", *DATASET.split("/"))
    store.create_repo(dataset, private=False, author="bench")
    spec = AddFile("eval.yaml", store.put_blob(EVAL_YAML.encode()))
    store.apply(dataset, "main", [spec], title="benchmark", message="", author="bench")
    for i in range(models):
        repo = Repo("model", "bench", f"model-{i}")
        store.create_repo(repo, private=i % 10 == 0, author="bench")
        card = store.put_blob(b"---\nlicense: mit\n---\n# model\n")
        store.apply(repo, "main", [AddFile("README.md", card)], title="card", message="", author="bench")
        results = f"- dataset: {{id: {DATASET}, task_id: {TASK}}}\n  value: {i / models:.4f}\n".encode()
        operation = AddFile(".eval_results/r.yaml", store.put_blob(results))
        store.apply(repo, "main", [operation], title="results", message="", author="bench")


def _get(conn: http.client.HTTPConnection) -> tuple[float, int]:
    start = time.perf_counter()
    conn.request("GET", f"/api/datasets/{DATASET}/leaderboard?base_model=false",
                 headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200, body[:200]
    return time.perf_counter() - start, len(json.loads(body))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from hubrerank.server import HubServer, UserSpec
    from hubrerank.server.objects import AddFile, Repo
    from hubrerank.server.storage import Store

    with tempfile.TemporaryDirectory(prefix="hubrerank-bench-leaderboard-") as work:
        data_dir = Path(work) / "data"
        started = time.perf_counter()
        _populate(data_dir, args.models)
        populate_s = time.perf_counter() - started
        server = HubServer(data_dir, users=[UserSpec("bench", TOKEN)]).start()
        try:
            host, port = server.url.removeprefix("http://").split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=120)
            cold, entries = _get(conn)
            warm = [_get(conn)[0] for _ in range(args.repeat)]
            store = Store(data_dir)
            repo = Repo("model", "bench", "model-1")
            store.apply(repo, "main", [AddFile("notes.txt", store.put_blob(b"x"))], title="n", message="",
                        author="bench")  # fmt: skip
            after_commit, _ = _get(conn)
            conn.close()
        finally:
            server.stop()
    warm_s = statistics.median(warm)
    print(
        json.dumps(
            {
                "models": args.models,
                "entries": entries,
                "populate_s": round(populate_s, 2),
                "cold_ms": round(cold * 1000, 1),
                "warm_ms": round(warm_s * 1000, 1),
                "after_one_commit_ms": round(after_commit * 1000, 1),
                "cold_over_warm_ratio": round(cold / warm_s, 1),
                "repeat": args.repeat,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
