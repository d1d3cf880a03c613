"""Precision and concurrency on TREC DL19 (BM25 top-100).

1. Speed and quality of ``hubrerank eval --dtype bfloat16``: ``run_evaluations`` in bfloat16 (no score
   cache) against CrossEncoderRerankingEvaluator called directly in float32, in this process, on the same
   weights; the NDCG@10, MAP and MRR@10 deltas of bfloat16 against the evaluator's float32 values (which
   hubrerank's float32 metrics equal to 1e-9: eval_speed.py).
2. Concurrency: ``hubrerank eval`` on the first queries, alone and then two at once (separate processes,
   each on the cores hubrerank gives it), with OpenMP's wait policy as hubrerank sets it (passive) and,
   for contrast, active (spinning threads, what a process gets that sets nothing).

The model is all-MiniLM-L6-v2 loaded as a cross-encoder with a seeded, untrained head (as eval_speed.py):
the NDCG delta measures what bfloat16 rounding does to one model's order, not a trained reranker's
quality. Prints one JSON object.

    python benchmarks/precision.py [--data ../shared/data/trec-dl19/derived] [--concurrent-queries 12]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from eval_speed import prepare_dl19

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "trec-dl19" / "derived"
METRICS = ("ndcg@10", "map", "mrr@10")  # the evaluator's keys; hubrerank's all-positives setting


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="TREC DL19 derived/ folder")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--concurrent-queries", type=int, default=8, help="queries of each concurrent run")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(json.dumps({"skipped": f"{args.data} is absent"}))
        return
    print(json.dumps(measure(args.data, args.seed, args.concurrent_queries), indent=2))


def measure(data: Path, seed: int, concurrent_queries: int) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import torch
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator

    from hubrerank.evaluation import run_evaluations
    from hubrerank.evaluation.metrics import pairs_to_score
    from hubrerank.runtime import Variant, use_cores

    threads = use_cores()
    rows, records, work, model = prepare_dl19(data, seed, "precision-")
    pairs = len(pairs_to_score(rows))
    pq.write_table(pa.Table.from_pylist(records), work / "test.parquet")
    pq.write_table(pa.Table.from_pylist(records[:concurrent_queries]), work / "part.parquet")
    plan = {"reranking": [{"dataset": str(work / "test.parquet"), "split": "test", "at_k": 10}]}

    load = [round(value, 2) for value in os.getloadavg()]
    evaluator = CrossEncoderRerankingEvaluator([row.sample() for row in rows], at_k=10, write_csv=False)
    start = time.perf_counter()
    fp32 = {key.removeprefix(f"{evaluator.name}_"): value for key, value in evaluator(model).items()}
    evaluator_s = time.perf_counter() - start
    del model
    _stage("evaluator_float32", {"seconds": evaluator_s, "metrics": fp32})

    start = time.perf_counter()
    results = run_evaluations(work / "model", None, plan, cache=False, precision=Variant("bfloat16"))
    bf16_s = time.perf_counter() - start
    bf16 = results["results"][0]["metrics"]
    _stage("hubrerank_bfloat16", {"seconds": bf16_s, "metrics": {key: bf16[key] for key in METRICS}})
    return {
        "data": str(data),
        "queries": len(rows),
        "pairs_scored": pairs,
        "model": "all-MiniLM-L6-v2 as CrossEncoder(num_labels=1), head seeded with transformers.set_seed",
        "torch_threads": threads,
        "torch": torch.__version__,
        "load_average_at_start": load,
        "evaluator_float32": {"seconds": round(evaluator_s, 2), "pairs_per_s": round(pairs / evaluator_s, 1)},
        "hubrerank_bfloat16": {"seconds": round(bf16_s, 2), "pairs_per_s": round(pairs / bf16_s, 1)},
        "bfloat16_over_evaluator_float32": round(evaluator_s / bf16_s, 2),
        "metrics_float32": {key: round(fp32[key], 4) for key in METRICS},
        "metrics_bfloat16": {key: round(bf16[key], 4) for key in METRICS},
        "delta_bfloat16_minus_float32": {key: round(bf16[key] - fp32[key], 4) for key in METRICS},
        "concurrency": {
            "queries": concurrent_queries,
            "passive_wait (hubrerank's)": _concurrency(work, {}),
            "active_wait (for contrast)": _concurrency(work, {"OMP_WAIT_POLICY": "ACTIVE"}),
        },
    }


def _stage(name: str, values: dict) -> None:
    """One finished stage on stderr, so a run cut short still tells what it measured."""
    print(f"stage {name}: {json.dumps(values)}", file=sys.stderr, flush=True)


def _concurrency(work: Path, env: dict[str, str]) -> dict:
    """Seconds of one ``hubrerank eval`` alone and of each of two started together; the ratios are each
    concurrent run's speed as a fraction of the lone run's (0.5: a fair share of the cores)."""
    command = [
        sys.executable, "-m", "hubrerank", "eval", str(work / "model"), "--data", str(work / "part.parquet"),
        "--split", "test", "--no-cache",
    ]  # fmt: skip
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", **env}
    environment.pop("HUBRERANK_THREADS", None)

    def timed(count: int) -> list[float]:
        start = time.perf_counter()
        processes = [
            subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(count)
        ]
        ended: dict[int, float] = {}
        while len(ended) < count:
            for index, process in enumerate(processes):
                if index not in ended and process.poll() is not None:
                    if process.returncode != 0:
                        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}")
                    ended[index] = time.perf_counter() - start
            time.sleep(0.05)
        return [ended[index] for index in range(count)]

    alone = timed(1)[0]
    together = timed(2)
    result = {
        "alone_s": round(alone, 2),
        "concurrent_s": [round(value, 2) for value in together],
        "speed_each_vs_alone": [round(alone / value, 2) for value in together],
    }
    _stage(f"concurrency {env or 'hubrerank'}", result)
    return result


if __name__ == "__main__":
    main()
