"""snapshot_download of many small files from the embedded Hub, timed from outside the server.

Starts ``python -m hubrerank hub serve`` as a subprocess from this checkout and from a baseline (by
default 629f891, the last commit before issue 28) on fresh data dirs, commits ``--files`` small files
(``d<i // 1000>/f<i>.txt``, 8-12 bytes each) to one repo in a single commit, then runs
``snapshot_download`` of that commit in a fresh client process (huggingface_hub, default
``max_workers`` 8, classic HTTP downloads, progress bars off) into an empty cache, and into an empty
``local_dir`` (which costs the client about twice the work per file: it writes a metadata file for
each). Runs alternate between the two servers; each figure is the median of ``--repeat`` runs, with
the client's and the server's CPU seconds and the load average, so that a busy machine shows as
such rather than as a slower server: both processes need a core, so on 2 cores the time is about the
larger of the two CPU figures on an idle machine, and their sum when other work takes a core.

Prints one JSON object; ratios are the baseline's time over this checkout's.

Usage: python benchmarks/hub_snapshot.py [--files 10000] [--repeat 3] [--baseline-commit SHA]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TOKEN = "hrk_bench_" + "n" * 30
BASELINE_COMMIT = "629f891"  # main before issue 28 (connection cap, scheduled gc, inline small files)
MODES = ("cache_dir", "local_dir")
CLIENT = """
import sys, time
from huggingface_hub import snapshot_download
url, repo, sha, token, target, mode = sys.argv[1:]
kwargs = {"local_dir": target} if mode == "local_dir" else {"cache_dir": target}
start = time.perf_counter()
snapshot_download(repo, revision=sha, endpoint=url, token=token, **kwargs)
print(time.perf_counter() - start)
"""


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """``hub serve`` from ``code_root`` on a fresh data dir under ``work``, holding the benchmark repo."""

    def __init__(self, code_root: Path, work: Path, files: int) -> None:
        work.mkdir(parents=True)
        port_file, token_file = work / "port", work / "token"
        token_file.write_text(TOKEN)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hubrerank", "hub", "serve", "--data", str(work / "data"), "--port", "0",
             "--port-file", str(port_file), "--user", f"bench:@{token_file}"],
            cwd=code_root,
            env={**os.environ, "PYTHONPATH": str(code_root)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"hub serve from {code_root} did not start")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{int(port_file.read_text())}"
        from huggingface_hub import CommitOperationAdd, HfApi

        api = HfApi(endpoint=self.url, token=TOKEN)
        self.repo = "bench/many-small-files"
        api.create_repo(self.repo)
        operations = [
            CommitOperationAdd(f"d{i // 1000}/f{i}.txt", f"file {i}\n".encode()) for i in range(files)
        ]
        self.sha = api.create_commit(self.repo, operations, commit_message="many small files").oid

    def snapshot(self, target: Path, mode: str) -> dict[str, float]:
        """One snapshot_download into ``target`` from a fresh client process: seconds and CPU seconds."""
        server_cpu = _cpu_s(self.proc.pid)
        before = os.times()
        run = subprocess.run(
            [sys.executable, "-c", CLIENT, self.url, self.repo, self.sha, TOKEN, str(target), mode],
            env={**os.environ, "HF_HUB_DISABLE_XET": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
                 "HF_HOME": str(target.parent / "hf-home")},
            capture_output=True,
            text=True,
            check=True,
        )  # fmt: skip
        after = os.times()
        return {
            "seconds": float(run.stdout.strip().splitlines()[-1]),
            "client_cpu_s": after.children_user
            + after.children_system
            - before.children_user
            - before.children_system,
            "server_cpu_s": _cpu_s(self.proc.pid) - server_cpu,
        }

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def _median(runs: list[dict[str, float]]) -> dict[str, float | list[float]]:
    summary: dict[str, float | list[float]] = {
        key: round(statistics.median(run[key] for run in runs), 2) for key in runs[0]
    }
    summary["runs_s"] = [round(run["seconds"], 2) for run in runs]
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per server and mode (median)")
    parser.add_argument("--baseline-commit", default=BASELINE_COMMIT, help="a commit of this repository")
    args = parser.parse_args()
    import huggingface_hub

    load_at_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="hubrerank-snapshot-") as tmp:
        work = Path(tmp)
        archive = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "archive", args.baseline_commit], capture_output=True, check=True
        ).stdout
        (work / "baseline-code").mkdir()
        subprocess.run(["tar", "-x", "-C", str(work / "baseline-code")], input=archive, check=True)
        servers = {
            "hubrerank": Server(REPO_ROOT, work / "hubrerank", args.files),
            "baseline": Server(work / "baseline-code", work / "baseline", args.files),
        }
        runs: dict[str, dict[str, list[dict[str, float]]]] = {
            name: {m: [] for m in MODES} for name in servers
        }
        try:
            for i in range(args.repeat):
                for mode in MODES:
                    for name, server in servers.items():  # alternating: drift of a busy machine hits both
                        target = work / "clients" / f"{name}-{mode}-{i}" / "target"
                        target.parent.mkdir(parents=True)
                        runs[name][mode].append(server.snapshot(target, mode))
        finally:
            for server in servers.values():
                server.stop()
    result: dict = {
        "files": args.files,
        "file_bytes": "8-12",
        "max_workers": 8,
        "repeat": args.repeat,
        "client": f"huggingface_hub {huggingface_hub.__version__} in its own process, progress bars off",
        "baseline_code": args.baseline_commit,
        "load_average": {"start": round(load_at_start, 1), "end": round(os.getloadavg()[0], 1)},  # 2 cores
    }
    for name in servers:
        result[name] = {mode: _median(runs[name][mode]) for mode in MODES}
    result["ratio"] = {
        mode: round(result["baseline"][mode]["seconds"] / result["hubrerank"][mode]["seconds"], 2)
        for mode in MODES
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
