"""The embedded Hub's pages: time to first byte and a full Chromium load, p50/p99 over --loads loads each.

Builds a Hub like the one ``make demo`` leaves, without training anything: user ``root`` with the
construction FAQ (zaragoza-construction-faq, the demo's data) as a benchmark dataset (parquet splits,
the card ``dataset_cards/faq.md``, an ``eval.yaml`` of two tasks), base MiniLM, and the reranker with
the demo's golden card (``model_cards/faq-reranker.md``), ``.eval_results``, weights stored with LFS
and a verification report; user ``alice`` with a model of her own and a pull request of re-measured
results on root's reranker (a community entry); and a 10,000-file model repo. It serves them
in-process and times three pages: the reranker's model page, the benchmark's leaderboard and the
10,000-file repo's tree page, each ``--loads`` times over one kept-alive HTTP connection (time to
first byte: until the status line and headers are read; then the whole page; the baseline is the
API's JSON of the same thing: model_info, the leaderboard route, the tree listing), and ``--loads`` times
in one headless Chromium tab (Debian's /usr/bin/chromium through Playwright: navigation start to the
load event, stylesheet and images included). Without Chromium the browser figures are skipped.

``--screenshots DIR`` also saves the model page, the leaderboard and the pull request as PNGs 1000 px
wide (the README shows them).

``--demo-hub DIR`` times the real Hub a ``make demo`` run left instead (``DIR`` is its
``home/hub``, served from a copy): its reranker's model page and its two benchmarks' leaderboards.

Prints one JSON object.

Usage: python benchmarks/pages.py [--loads 100] [--screenshots docs] [--demo-hub demo-output/home/hub]
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ROOT_TOKEN, ALICE_TOKEN = "hrk_root_" + "r" * 30, "hrk_alice_" + "a" * 30
DATASET, MODEL, BASE = (
    "root/construction-faq-reranking",
    "root/minilm-construction-faq-reranker",
    "root/all-MiniLM-L6-v2",
)
ALICE_MODEL, MANY = "alice/minilm-construction-faq-retriever", "root/ten-thousand-files"
TASKS = ("reranking/test/ndcg@10/all-positives", "reranking/test/mrr@10")
EVAL_YAML = f"""name: Construction FAQ reranking (test split)
description: 101 held-out questions, each with the first stage's top 20 answers to rerank.
evaluation_framework: hubrerank
tasks:
  - {{id: {TASKS[0]}, config: reranking, split: test, metric: ndcg@10, metric_definition: all-positives,
     at_k: 10}}
  - {{id: {TASKS[1]}, config: reranking, split: test, metric: mrr@10, at_k: 10}}
"""


def _parquet(rows: list[dict]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    return sink.getvalue()


def _results(values: dict[str, float]) -> bytes:
    import yaml
    from huggingface_hub import EvalResultEntry, eval_result_entries_to_yaml

    entries = [EvalResultEntry(dataset_id=DATASET, task_id=task, value=v) for task, v in values.items()]
    return yaml.safe_dump(eval_result_entries_to_yaml(entries)).encode()


def populate(url: str, data_dir: Path) -> None:
    """The demo-like Hub described in the module's docstring, on the server at ``url``."""
    import zaragoza_construction_faq
    from huggingface_hub import CommitOperationAdd, HfApi

    from hubrerank.server.objects import AddFile, Repo
    from hubrerank.server.storage import Store

    root, alice = HfApi(endpoint=url, token=ROOT_TOKEN), HfApi(endpoint=url, token=ALICE_TOKEN)
    faq = zaragoza_construction_faq.load(lang="en")
    train = [{"query": r["q"], "passage": r["a"], "label": 1} for r in faq[:360]]
    test = [
        {
            "query_id": r["id"],
            "query": r["q"],
            "positive": [r["a"]],
            "documents": [x["a"] for x in faq[i : i + 20]],
        }
        for i, r in enumerate(faq[402:], 402)
    ]
    card = (ROOT / "dataset_cards" / "faq.md").read_text().replace("acme/construction-faq", DATASET)
    dataset_files = {
        "README.md": card.encode(),
        "eval.yaml": EVAL_YAML.encode(),
        "data/train-00000-of-00001.parquet": _parquet(train),
        "data/test-00000-of-00001.parquet": _parquet(test),
        "data/eval-00000-of-00001.parquet": _parquet(test[:40]),
    }
    root.create_repo(DATASET, repo_type="dataset")
    root.create_commit(
        DATASET,
        [CommitOperationAdd(p, d) for p, d in dataset_files.items()],
        commit_message="hubrerank data build",
        repo_type="dataset",
    )
    root.create_repo(BASE)
    root.upload_file(path_or_fileobj=b"# all-MiniLM-L6-v2\n", path_in_repo="README.md", repo_id=BASE)
    model_card = (ROOT / "model_cards" / "faq-reranker.md").read_text()
    model_card = model_card.replace("acme/construction-faq", DATASET).replace("acme/faq-reranker", MODEL)
    model_card = model_card.replace("sentence-transformers/all-MiniLM-L6-v2", BASE)
    report = {
        "kind": "verify",
        "timestamp": "2026-12-07T10:00:00.000000Z",
        "hubrerank_version": "0.9.0",
        "verdict": "PASS",
        "tolerance": 0.0005,
        "rows": [
            {"metric": m, "claimed": v, "measured": v + d, "delta": d, "tolerance": 0.0005, "ok": True}
            for m, v, d in (("ndcg@10", 0.6528, 0.0), ("mrr@10", 0.6021, 0.0), ("map", 0.6035, 0.0001))
        ],
        "library_versions": [],
    }
    model_files = {
        "README.md": model_card.encode(),
        "config.json": b'{"architectures": ["BertForSequenceClassification"]}',
        "model.safetensors": os.urandom(1 << 20),
        ".eval_results/hubrerank.yaml": _results({TASKS[0]: 0.6528, TASKS[1]: 0.6021}),
        "reproductions/20261207T100000.000000Z.json": json.dumps(report, indent=2).encode(),
    }
    root.create_repo(MODEL)
    root.create_commit(
        MODEL, [CommitOperationAdd(p, d) for p, d in model_files.items()], commit_message="train"
    )
    alice.create_repo(ALICE_MODEL)
    alice.upload_file(
        path_or_fileobj=_results({TASKS[0]: 0.7571, TASKS[1]: 0.7124}),
        path_in_repo=".eval_results/hubrerank.yaml",
        repo_id=ALICE_MODEL,
    )
    remeasured = CommitOperationAdd(".eval_results/hubrerank-alice.yaml", _results({TASKS[0]: 0.6531}))
    alice.create_commit(
        MODEL,
        [remeasured],
        commit_message="Re-measured results (hubrerank eval --open-pr)",
        commit_description="NDCG@10 re-measured on the same split: **0.6531** (claimed 0.6528).",
        create_pr=True,
    )
    root.comment_discussion(MODEL, 1, comment="Thanks! Within tolerance; merging after the next release.")
    store = Store(data_dir)
    many = Repo("model", *MANY.split("/"))
    store.create_repo(many, private=False, author="root")
    shard = store.put_blob(b"x\n")
    files = [AddFile(f"shards/part-{i:05d}.txt", shard) for i in range(10_000)]
    store.apply(many, "main", files, title="10,000 files", message="", author="root")


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": round(statistics.median(ordered) * 1000, 2),
        "p99": round(ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))] * 1000, 2),
    }


def http_times(url: str, path: str, loads: int) -> dict[str, dict[str, float]]:
    """Time to first byte and whole page over one kept-alive connection, ``loads`` times."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    first, whole = [], []
    for _ in range(loads + 1):
        start = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        ttfb = time.perf_counter() - start
        body = response.read()
        done = time.perf_counter() - start
        assert response.status == 200, (path, response.status, body[:200])
        first.append(ttfb)
        whole.append(done)
    conn.close()
    return {"ttfb_ms": _percentiles(first[1:]), "whole_ms": _percentiles(whole[1:]), "bytes": len(body)}


def browser_times(url: str, paths: dict[str, str], loads: int, screenshots: Path | None) -> dict:
    """Navigation start to the load event in one Chromium tab, ``loads`` times per page."""
    from playwright.sync_api import sync_playwright

    found: dict[str, dict[str, float]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        for name, path in paths.items():
            samples = []
            for _ in range(loads + 1):
                page.goto(url + path, wait_until="load")
                samples.append(
                    page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000
                )
            found[name] = _percentiles(samples[1:])
        if screenshots is not None:
            shots = {
                "model": f"/{MODEL}",
                "leaderboard": f"/datasets/{DATASET}/leaderboard",
                "pull-request": f"/{MODEL}/discussions/1",
            }
            for name, path in shots.items():
                page.goto(url + path, wait_until="load")
                page.screenshot(path=str(screenshots / f"pages-{name}.png"), full_page=False)
        browser.close()
    return found


def demo_hub_times(demo_hub: Path, loads: int) -> dict:
    """The demo's model page and leaderboards, over HTTP and in Chromium, served from a copy of its Hub."""
    import shutil

    from hubrerank.server import HubServer

    paths = {
        "model_page": f"/{MODEL}",
        "leaderboard_reranking": f"/datasets/{DATASET}/leaderboard",
        "leaderboard_retrieval": "/datasets/root/construction-faq-retrieval/leaderboard",
    }
    with tempfile.TemporaryDirectory(prefix="hubrerank-bench-pages-") as work:
        data_dir = Path(work) / "hub"
        shutil.copytree(demo_hub, data_dir)
        server = HubServer(data_dir).start()
        try:
            result: dict = {"loads": loads, "hub": "a make demo run's", "load_average": os.getloadavg()[0]}
            result["http"] = {name: http_times(server.url, path, loads) for name, path in paths.items()}
            if os.path.exists(CHROMIUM):
                result["chromium_load_ms"] = browser_times(server.url, paths, loads, None)
        finally:
            server.stop()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=100)
    parser.add_argument("--screenshots", type=Path, default=None)
    parser.add_argument("--demo-hub", type=Path, default=None, help="a make demo run's home/hub")
    args = parser.parse_args()
    if args.demo_hub is not None:
        print(json.dumps(demo_hub_times(args.demo_hub, args.loads), indent=2))
        return
    os.environ["HF_HUB_DISABLE_XET"] = "1"

    from hubrerank.server import HubServer, UserSpec

    paths = {
        "model_page": f"/{MODEL}",
        "leaderboard": f"/datasets/{DATASET}/leaderboard",
        "tree_10000_files": f"/{MANY}/tree/main/shards",
    }
    api = {  # the baseline: the API's JSON of the same thing, as huggingface_hub asks for it
        "model_page": f"/api/models/{MODEL}",
        "leaderboard": f"/api/datasets/{DATASET}/leaderboard?base_model=false",
        "tree_10000_files": f"/api/models/{MANY}/tree/main/shards",
    }
    with tempfile.TemporaryDirectory(prefix="hubrerank-bench-pages-") as work:
        data_dir = Path(work) / "data"
        users = [UserSpec("root", ROOT_TOKEN), UserSpec("alice", ALICE_TOKEN)]
        server = HubServer(data_dir, users=users).start()
        try:
            started = time.perf_counter()
            populate(server.url, data_dir)
            populate_s = time.perf_counter() - started
            result: dict = {"loads": args.loads, "populate_s": round(populate_s, 2)}
            result["http"] = {name: http_times(server.url, path, args.loads) for name, path in paths.items()}
            result["api_json"] = {
                name: http_times(server.url, path, args.loads) for name, path in api.items()
            }
            result["page_over_json_p50"] = {
                name: round(
                    result["http"][name]["whole_ms"]["p50"] / result["api_json"][name]["whole_ms"]["p50"], 2
                )
                for name in paths
            }
            if os.path.exists(CHROMIUM):
                result["chromium_load_ms"] = browser_times(server.url, paths, args.loads, args.screenshots)
            else:
                result["chromium_load_ms"] = {"skipped": f"{CHROMIUM} is missing (apt-get install chromium)"}
        finally:
            server.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
