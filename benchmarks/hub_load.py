"""Embedded Hub under load: snapshot_download of many small files, kept-alive latency, RSS over time.

Starts ``python -m hubrerank hub serve`` as a subprocess from this checkout and, with ``--baseline DIR``,
from another checkout of hubrerank (e.g. a commit before the server's fixes) in the same run, and for
each server:

- commits ``--files`` small files to one repo in a single commit and times ``snapshot_download`` of the
  whole repo into a fresh cache (huggingface_hub's own client, kept-alive connections);
- times ``model_info`` from 8 reader threads for ``--requests`` calls each (p50/p99, kept-alive);
- runs a mixed load for ``--seconds``: 8 threads reading (model_info, HEAD and GET of files, tree
  listings) while 2 threads commit, sampling the server's RSS every 0.25 s (start, peak, end).

Prints one JSON object; ratios are this checkout against the baseline measured in the same run.

``--baseline-commit SHA`` takes the baseline from this repository's history instead (``git archive``);
``make bench`` compares with 3c79323, the last commit before the server's hardening (issue 17).

Usage: python benchmarks/hub_load.py [--files 10000] [--seconds 120]
           [--baseline DIR | --baseline-commit SHA] [--baseline-files 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TOKEN = "hrk_bench_" + "l" * 30
READERS = 8
BASELINE_COMMIT = "3c79323"  # the last commit before the server's hardening (issue 17)


def _start(code_root: Path, data_dir: Path) -> tuple[subprocess.Popen, str]:
    """``hub serve`` from ``code_root`` on ``data_dir``; its process and URL."""
    port_file = data_dir.parent / f"{data_dir.name}.port"
    token_file = data_dir.parent / f"{data_dir.name}.token"
    token_file.write_text(TOKEN)
    new_style = (code_root / "hubrerank" / "server" / "users.py").is_file()
    user = f"bench:@{token_file}" if new_style else f"bench:{TOKEN}"
    command = [sys.executable, "-m", "hubrerank", "hub", "serve", "--data", str(data_dir), "--port", "0"]
    proc = subprocess.Popen(
        [*command, "--port-file", str(port_file), "--user", user],
        cwd=code_root,
        env={**os.environ, "PYTHONPATH": str(code_root)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not (port_file.exists() and port_file.read_text().strip()):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"hub serve from {code_root} did not start")
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{int(port_file.read_text())}"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(code_root: Path, files: int, requests: int, seconds: float) -> dict:
    from huggingface_hub import CommitOperationAdd, HfApi, snapshot_download

    with tempfile.TemporaryDirectory(prefix="hubrerank-load-") as tmp:
        work = Path(tmp)
        proc, url = _start(code_root, work / "data")
        try:
            api = HfApi(endpoint=url, token=TOKEN)
            repo = "bench/many-files"
            api.create_repo(repo, exist_ok=True)
            operations = [
                CommitOperationAdd(f"d{i // 1000}/f{i}.txt", f"file {i}\n".encode()) for i in range(files)
            ]
            commit = api.create_commit(repo, operations, commit_message="many small files")
            start = time.perf_counter()
            snapshot_download(repo, revision=commit.oid, cache_dir=work / "cache", endpoint=url, token=TOKEN)
            snapshot_s = time.perf_counter() - start

            latencies: list[float] = []
            lock = threading.Lock()

            def read_info() -> None:
                client = HfApi(endpoint=url, token=TOKEN)  # one kept-alive session per thread
                mine = []
                for _ in range(requests):
                    began = time.perf_counter()
                    client.model_info(repo)
                    mine.append((time.perf_counter() - began) * 1000)
                with lock:
                    latencies.extend(mine)

            threads = [threading.Thread(target=read_info) for _ in range(READERS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

            done = {"reads": 0, "commits": 0, "errors": 0}
            stop = time.monotonic() + seconds
            rss = [_rss_mb(proc.pid)]

            def reader(n: int) -> None:
                client = HfApi(endpoint=url, token=TOKEN)
                i = n
                while time.monotonic() < stop:
                    i += READERS
                    try:
                        (client.model_info, client.list_repo_tree)[i % 2](repo)  # type: ignore[operator]
                        client.get_paths_info(repo, [f"d0/f{i % min(files, 1000)}.txt"])
                        with lock:
                            done["reads"] += 2
                    except Exception:
                        with lock:
                            done["errors"] += 1

            def writer(n: int) -> None:
                client = HfApi(endpoint=url, token=TOKEN)
                target = f"bench/writes-{n}"
                client.create_repo(target, exist_ok=True)
                i = 0
                while time.monotonic() < stop:
                    i += 1
                    try:
                        operation = CommitOperationAdd(f"w/{i}.txt", os.urandom(2048))
                        client.create_commit(target, [operation], commit_message=f"write {i}")
                        with lock:
                            done["commits"] += 1
                    except Exception:
                        with lock:
                            done["errors"] += 1

            load = [threading.Thread(target=reader, args=(n,)) for n in range(READERS)]
            load += [threading.Thread(target=writer, args=(n,)) for n in range(2)]
            for thread in load:
                thread.start()
            while time.monotonic() < stop:
                time.sleep(0.25)
                rss.append(_rss_mb(proc.pid))
            for thread in load:
                thread.join()
            rss.append(_rss_mb(proc.pid))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return {
        "files": files,
        "snapshot_download_s": round(snapshot_s, 2),
        "model_info_ms": {
            "p50": round(statistics.median(latencies), 2),
            "p99": round(_percentile(latencies, 0.99), 2),
            "calls": len(latencies),
        },
        "mixed_load": {"seconds": seconds, **done},
        "rss_mb": {"start": round(rss[0], 1), "peak": round(max(rss), 1), "end": round(rss[-1], 1)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=150, help="model_info calls per reader thread")
    parser.add_argument("--seconds", type=float, default=120.0, help="length of the mixed load")
    parser.add_argument("--baseline", type=Path, help="another hubrerank checkout to measure in the same run")
    parser.add_argument(
        "--baseline-commit",
        default=BASELINE_COMMIT,
        help="a commit of this repository to measure in the same run ('' for none)",
    )
    parser.add_argument("--baseline-files", type=int, default=1_000, help="files for both, when comparing")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    result = {"hubrerank": measure(REPO_ROOT, args.files, args.requests, args.seconds)}
    with tempfile.TemporaryDirectory(prefix="hubrerank-baseline-") as tmp:
        if args.baseline is None and args.baseline_commit:
            archive = subprocess.run(
                ["git", "-C", str(REPO_ROOT), "archive", args.baseline_commit],
                capture_output=True,
                check=True,
            ).stdout
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
            args.baseline = Path(tmp)
        if args.baseline is not None:
            _compare(result, args)
    print(json.dumps(result, indent=2))


def _compare(result: dict, args: argparse.Namespace) -> None:
    """Both servers on ``--baseline-files`` files and a shorter mixed load, and the ratios."""
    same = measure(REPO_ROOT, args.baseline_files, args.requests, min(args.seconds, 30))
    base = measure(args.baseline, args.baseline_files, args.requests, min(args.seconds, 30))
    result["comparison"] = {
        "hubrerank": same,
        "baseline": base,
        "baseline_code": args.baseline_commit or str(args.baseline),
    }
    result["ratio"] = {
        "snapshot_download": round(base["snapshot_download_s"] / same["snapshot_download_s"], 1),
        "model_info_p50": round(base["model_info_ms"]["p50"] / same["model_info_ms"]["p50"], 1),
    }


if __name__ == "__main__":
    main()
