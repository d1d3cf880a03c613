"""Evaluate cross-encoder rerankers: exact CrossEncoderRerankingEvaluator metrics, NanoBEIR, run files.

``run_evaluations(model_path, model_sha, plan)`` is the entry point training, verification and
``hubrerank eval`` share; it returns the eval_results.json dict (docs/contracts.md).
``compare_models(ComparisonRequest(...))`` is ``hubrerank eval`` itself (evaluations and tables), and
``rank_documents(model, query, documents)`` and ``score_pairs(model, read_pairs(path))`` are
``hubrerank rerank``; ``evaluate_pipelines(PipelineRequest(...))`` is ``hubrerank pipeline``.
"""

from hubrerank.evaluation.cache import ScoreCache
from hubrerank.evaluation.compare import Comparison, ComparisonRequest, compare_models
from hubrerank.evaluation.metrics import RerankingOutcome, evaluate_rows
from hubrerank.evaluation.nanobeir import evaluate_nanobeir
from hubrerank.evaluation.pipeline import PipelineRequest, PipelineResults, evaluate_pipelines
from hubrerank.evaluation.plan import check_plan, evaluate_model, results_document, run_evaluations
from hubrerank.evaluation.rerank import RankedDocument, rank_documents, read_pairs, score_pairs
from hubrerank.evaluation.runfile import read_qrels, read_run, rows_from_trec, write_run
from hubrerank.evaluation.samples import RerankingData, RerankingRow, load_reranking_data, rows_from_samples
from hubrerank.evaluation.scoring import Scorer, check_cross_encoder

__all__ = [
    "Comparison",
    "ComparisonRequest",
    "PipelineRequest",
    "PipelineResults",
    "RankedDocument",
    "RerankingData",
    "RerankingOutcome",
    "RerankingRow",
    "ScoreCache",
    "Scorer",
    "check_cross_encoder",
    "check_plan",
    "compare_models",
    "evaluate_model",
    "evaluate_nanobeir",
    "evaluate_pipelines",
    "evaluate_rows",
    "load_reranking_data",
    "rank_documents",
    "read_pairs",
    "read_qrels",
    "read_run",
    "results_document",
    "rows_from_samples",
    "rows_from_trec",
    "run_evaluations",
    "score_pairs",
    "write_run",
]
