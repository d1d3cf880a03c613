"""Evaluate cross-encoder rerankers: exact CrossEncoderRerankingEvaluator metrics, NanoBEIR, run files.

``run_evaluations(model_path, model_sha, plan)`` is the entry point training, verification and
``hubrerank eval`` share; it returns the eval_results.json dict (docs/contracts.md).
"""

from hubrerank.evaluation.cache import ScoreCache
from hubrerank.evaluation.metrics import RerankingOutcome, evaluate_rows
from hubrerank.evaluation.nanobeir import evaluate_nanobeir
from hubrerank.evaluation.plan import check_plan, evaluate_model, results_document, run_evaluations
from hubrerank.evaluation.runfile import read_qrels, read_run, rows_from_trec, write_run
from hubrerank.evaluation.samples import RerankingData, RerankingRow, load_reranking_data, rows_from_samples
from hubrerank.evaluation.scoring import Scorer, check_cross_encoder

__all__ = [
    "RerankingData",
    "RerankingOutcome",
    "RerankingRow",
    "ScoreCache",
    "Scorer",
    "check_cross_encoder",
    "check_plan",
    "evaluate_model",
    "evaluate_nanobeir",
    "evaluate_rows",
    "load_reranking_data",
    "read_qrels",
    "read_run",
    "results_document",
    "rows_from_samples",
    "rows_from_trec",
    "run_evaluations",
    "write_run",
]
