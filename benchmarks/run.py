"""`make bench`: run every benchmark, keep its JSON in benchmarks/results/, refresh BENCHMARKS.md.

Each benchmark is a script printing one JSON object (and skipping, with a reason, when ../shared/data
is absent). Figures are ratios against the baseline each script names, measured in the same run.

    python benchmarks/run.py [NAME ...]     # default: all of them
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
BENCHMARKS = {
    "hub_throughput": "Embedded Hub: push + pull of all-MiniLM-L6-v2 against `cp -r`",
    "data_build": "`hubrerank data build` against a hand-written mine_hard_negatives script (WikiQA train)",
    "train_speed": "`hubrerank train` against a hand-written CrossEncoderTrainer script (samples/s)",
    "eval_speed": "`hubrerank eval` cold and warm against CrossEncoderRerankingEvaluator (TREC DL19)",
    "quality": "Quality on TREC DL19: BM25, untrained MiniLM, MiniLM fine-tuned on WikiQA by a recipe",
}


def machine() -> str:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    import torch

    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, torch {torch.__version__}"


def run(name: str) -> dict:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(HERE / f"{name}.py")], capture_output=True, text=True, cwd=HERE.parent
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    result = json.loads(done.stdout[done.stdout.index("{") :])
    result["benchmark_wall_s"] = round(time.perf_counter() - started, 1)
    return result


def main() -> None:
    names = sys.argv[1:] or list(BENCHMARKS)
    RESULTS.mkdir(exist_ok=True)
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        result = run(name)
        (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Benchmarks",
        "",
        f"Last run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine()}.",
        "Each figure names its baseline, measured in the same run. Raw results: `benchmarks/results/*.json`;",
        "refresh with `make bench`.",
        "",
    ]
    for name, title in BENCHMARKS.items():
        path = RESULTS / f"{name}.json"
        if not path.exists():
            continue
        lines += [f"## {title}", "", "```json", path.read_text().strip(), "```", ""]
    (HERE.parent / "BENCHMARKS.md").write_text("\n".join(lines))
    print("wrote BENCHMARKS.md", file=sys.stderr)


if __name__ == "__main__":
    main()
