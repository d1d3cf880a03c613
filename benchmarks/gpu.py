"""GPUs on TREC DL19 (BM25 top-100): float32, bfloat16 and float16 on one GPU, and every GPU at once.

For a machine with CUDA (none of this project's machines has one; run it as is where there is):

1. CrossEncoderRerankingEvaluator in float32 on ``cuda:0``: the baseline;
2. ``run_evaluations`` (no cache) on ``cuda:0`` in float32, bfloat16 and float16: pairs/s, the speedup
   over the baseline and the NDCG@10 / MAP / MRR@10 deltas to its float32 metrics;
3. with two GPUs or more, ``run_evaluations`` with the pairs split across all of them (``--devices
   cuda``): pairs/s, and whether its metrics equal one GPU's float32 metrics exactly.

The model is all-MiniLM-L6-v2 as a cross-encoder with a seeded head (eval_speed.py), or ``--model`` (a
folder, e.g. a bge-reranker-base checkpoint): GPUs pay off on the big ones. Prints one JSON object, or
``{"skipped": ...}`` without CUDA.

    python benchmarks/gpu.py [--data ../shared/data/trec-dl19/derived] [--model FOLDER]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from eval_speed import prepare_dl19

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "trec-dl19" / "derived"
METRICS = ("ndcg@10", "map", "mrr@10")


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="TREC DL19 derived/ folder")
    parser.add_argument("--model", type=Path, default=None, help="a cross-encoder folder (default: MiniLM)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print(json.dumps({"skipped": "no CUDA device on this machine"}))
        return
    if not args.data.is_dir():
        print(json.dumps({"skipped": f"{args.data} is absent"}))
        return
    print(json.dumps(measure(args.data, args.model), indent=2))


def measure(data: Path, model_folder: Path | None) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import torch
    from sentence_transformers.cross_encoder import CrossEncoder
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator

    from hubrerank.evaluation import run_evaluations
    from hubrerank.evaluation.metrics import pairs_to_score
    from hubrerank.runtime import Variant, parse_devices

    rows, records, work, _ = prepare_dl19(data, 12, "gpu-")
    folder = model_folder or work / "model"
    pairs = len(pairs_to_score(rows))
    pq.write_table(pa.Table.from_pylist(records), work / "test.parquet")
    plan = {"reranking": [{"dataset": str(work / "test.parquet"), "split": "test", "at_k": 10}]}

    evaluator = CrossEncoderRerankingEvaluator([row.sample() for row in rows], at_k=10, write_csv=False)
    model = CrossEncoder(str(folder), device="cuda:0")
    start = time.perf_counter()
    reference = {key.removeprefix(f"{evaluator.name}_"): value for key, value in evaluator(model).items()}
    evaluator_s = time.perf_counter() - start
    del model
    result: dict = {
        "gpus": [torch.cuda.get_device_name(index) for index in range(torch.cuda.device_count())],
        "model": str(model_folder or "all-MiniLM-L6-v2 as a cross-encoder, seeded head"),
        "pairs": pairs,
        "evaluator_float32_cuda0": {"pairs_per_s": round(pairs / evaluator_s, 1)},
        "variants": {},
    }
    float32 = None
    variants = {dtype: Variant(dtype, "cuda:0") for dtype in ("float32", "bfloat16", "float16")}
    if torch.cuda.device_count() > 1:
        variants["float32, every GPU"] = Variant(devices=parse_devices("cuda"))
    for label, variant in variants.items():
        start = time.perf_counter()
        measured = run_evaluations(folder, None, plan, cache=False, precision=variant)["results"][0][
            "metrics"
        ]
        seconds = time.perf_counter() - start
        float32 = float32 or measured
        row = {
            "pairs_per_s": round(pairs / seconds, 1),
            "speedup_vs_evaluator_float32": round(evaluator_s / seconds, 2),
            "delta_vs_float32": {key: round(measured[key] - reference[key], 4) for key in METRICS},
        }
        if variant.devices:
            row["metrics_equal_one_gpu_float32"] = {key: measured[key] for key in METRICS} == {
                key: float32[key] for key in METRICS
            }
        result["variants"][label] = row
        print(f"stage {label}: {json.dumps(row)}", file=sys.stderr, flush=True)
    return result


if __name__ == "__main__":
    main()
