"""Run an evaluation plan (a recipe's ``evaluation`` section) on one model and return eval_results.json."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from hubrerank import __version__
from hubrerank.embeddings import Embedder, EmbeddingCache
from hubrerank.errors import RecipeError
from hubrerank.evaluation.cache import ScoreCache
from hubrerank.evaluation.encoder_reranking import evaluate_encoder_reranking
from hubrerank.evaluation.metrics import RerankingOutcome, ScoreFunction, evaluate_rows
from hubrerank.evaluation.multi_vector_retrieval import (
    MultiVectorRetriever,
    evaluate_multi_vector_retrieval,
    load_multi_vector_encoder,
)
from hubrerank.evaluation.nanobeir import (
    DEFAULT_DATASET,
    DEFAULT_SUBSETS,
    evaluate_nanobeir,
    evaluate_nanobeir_retrieval,
)
from hubrerank.evaluation.retrieval import (
    RetrievalCorpus,
    RetrievalOutcome,
    evaluate_retrieval,
    load_bi_encoder,
    load_retrieval_split,
    retrieval_result,
)
from hubrerank.evaluation.runfile import labelled_run_path, write_run
from hubrerank.evaluation.samples import RerankingData, load_reranking_data
from hubrerank.evaluation.scoring import Scorer
from hubrerank.evaluation.sparse_retrieval import (
    SparseRetriever,
    evaluate_sparse_retrieval,
    load_sparse_encoder,
)
from hubrerank.evaluation.triplet import evaluate_triplets, load_triplet_split, triplet_result
from hubrerank.kinds.spec import ENCODER_RERANKING, RANKED_TASKS, SPLIT_TASKS, kind_of_model
from hubrerank.runtime import BY_CHARACTERS, FLOAT32, Variant, with_variant

RERANKING_KEYS = {"dataset", "revision", "config", "split", "at_k"}
TRIPLET_KEYS = {"dataset", "revision", "config", "split"}
# the retriever kinds sentence-transformers encodes and scores itself, without the embedding cache:
# kind -> (load the folder, evaluate a corpus)
ENCODER_RETRIEVERS: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "sparse-encoder": (load_sparse_encoder, evaluate_sparse_retrieval),
    "multi-vector": (load_multi_vector_encoder, evaluate_multi_vector_retrieval),
}
NANOBEIR_KEYS = {"dataset", "revision", "datasets", "rerank_k", "at_k", "always_rerank_positives"}


def run_evaluations(
    model_path: Path,
    model_sha: str | None,
    plan: Mapping[str, Any],
    *,
    model_repo: str | None = None,
    cache: ScoreCache | bool = True,
    batch_size: int = 32,
    max_length: int | None = None,
    run_file: Path | None = None,
    trust_remote_code: bool = False,
    progress: bool = False,
    metric_definition: str | None = None,
    precision: Variant = FLOAT32,
) -> dict[str, Any]:
    """Evaluate the model in ``model_path`` as ``plan`` says; return the eval_results.json dict.

    ``plan`` (every revision a 40-hex sha, or None: a local path, or ``main`` resolved now)::

        {"reranking": [{"dataset": "ORG/NAME" or a local file/folder, "revision": sha, "config": "default",
                        "split": "test", "at_k": 10}, ...],
         "nanobeir": {"dataset": "sentence-transformers/NanoBEIR-en", "revision": sha,
                      "datasets": ["msmarco", "nfcorpus", "nq"], "rerank_k": 100, "at_k": 10},
         "retrieval": [{"dataset": ..., "revision": sha, "config": None, "split": "test", "at_k": 10}, ...],
         "triplet": [{"dataset": ..., "revision": sha, "config": None, "split": "test"}, ...],
         "encoder-reranking": [{"dataset": ..., "revision": sha, "config": None, "split": "test",
                                "at_k": 10}, ...]}

    Every key is optional; reranking judges a cross-encoder, triplet a bi-encoder, retrieval a bi-encoder,
    a sparse encoder or a multi-vector encoder (each scored as its kind's sentence-transformers evaluator
    scores it, see :data:`ENCODER_RETRIEVERS`), encoder-reranking a sparse or a multi-vector encoder on a
    reranking split's lists, and nanobeir any of them (as the model's kind says:
    NanoBEIR reranking or retrieval).
    ``model_sha`` is the commit the weights came from (None for a local folder),
    recorded in the result; the score and embedding caches are keyed by a sha256 of the model's files,
    so the same weights are scored once whether they come from a folder or a commit. ``cache``: True
    uses ``$HUBRERANK_HOME/scores.sqlite``, False none. ``trust_remote_code`` lets a model with its own code
    load (only on the user's word). ``run_file`` also writes the reranked (or, for a bi-encoder, the
    retrieved) lists as a TREC run (:func:`evaluate_model`, :func:`evaluate_retrieval_tasks`,
    :func:`evaluate_encoder_retrieval_tasks`). ``progress`` shows a progress bar of the pairs being scored.
    ``metric_definition`` is the definition of reranking and NanoBEIR NDCG and MAP
    (:mod:`hubrerank.evaluation.definitions`; None: the installed sentence-transformers'); each such result
    records it as ``metric_definition`` and the metrics another definition gives differently in
    ``other_definitions``. ``precision`` is the variant the model runs as; a result measured in another
    dtype than float32 records it as ``dtype`` and ``dtype_scheme``, one measured in an ONNX or OpenVINO
    file its ``backend`` and ``model_file``.

    Returns ``{"hubrerank_version", "model": {"repo", "revision"} or None (no ``model_repo``),
    "results": [...]}``, one result per task in plan order:

    - ``{"task": "reranking", "dataset", "revision", "config", "split", "at_k", "num_queries",
      "queries_without_positives", "metrics"}``. ``metrics`` (see :mod:`hubrerank.evaluation.metrics`):
      for each setting prefix ``""`` (all positives injected), ``"realistic_"`` (only what the first
      stage returned) and, when the data has first-stage ``documents``, ``"base_"`` (the evaluator's
      first-stage metrics) and ``"realistic_base_"``: ``map``, ``mrr@{at_k}``, ``ndcg@{at_k}``,
      ``hit_rate@1..5`` and ``mrr@1..5``. ``"" / realistic_ / base_`` ``map, mrr@k, ndcg@k`` equal
      CrossEncoderRerankingEvaluator's ``always_rerank_positives=True / False`` outputs. With
      first-stage lists, also ``versus_first_stage``: the paired test of realistic NDCG@k against the
      first stage (:mod:`hubrerank.evaluation.significance`). When the data carries teacher ``scores``,
      also ``pearson`` and ``spearman`` in ``metrics`` (CrossEncoderCorrelationEvaluator's) and
      ``teacher_pairs``, the number of scored pairs they are measured on.
    - ``{"task": "nanobeir", "dataset", "revision", "datasets", "rerank_k", "at_k", "metrics"}`` with
      CrossEncoderNanoBEIREvaluator's keys (``NanoMSMARCO_R100_ndcg@10``, ``NanoBEIR_R100_mean_ndcg@10``,
      their ``base_`` versions, ...); the mean is over ``datasets`` only.
    - ``{"task": "retrieval", "dataset", "revision", "config", "split", "at_k", "num_queries",
      "queries_without_positives", "corpus_size", "metrics"}``: the whole split's documents searched
      for each query (:mod:`hubrerank.evaluation.retrieval`), ``metrics`` InformationRetrievalEvaluator's
      ``accuracy@k`` (hit rate), ``precision@k``, ``recall@k``, ``mrr@k``, ``ndcg@k`` and ``map@100``.
    - ``{"task": "nanobeir-retrieval", "dataset", "revision", "datasets", "at_k", "similarity",
      "metrics"}`` for a bi-encoder: NanoBEIREvaluator's keys (``NanoMSMARCO_cosine_ndcg@10``,
      ``NanoBEIR_mean_cosine_ndcg@10``, ...), each subset's whole corpus searched.
    - ``{"task": "triplet", "dataset", "revision", "config", "split", "columns", "num_triplets",
      "similarity", "metrics"}`` for a bi-encoder: TripletEvaluator's accuracies (``cosine_accuracy``,
      ``dot_accuracy``, ``euclidean_accuracy``, ``manhattan_accuracy``, ``max_accuracy``) on the split's
      first three string ``columns`` (:mod:`hubrerank.evaluation.triplet`); ``similarity`` is the model's.
    - ``{"task": "encoder-reranking", "dataset", "revision", "config", "split", "at_k", "num_queries",
      "queries_left_out", "similarity", "metrics"}`` for a sparse or a multi-vector encoder:
      SparseRerankingEvaluator's or MultiVectorRerankingEvaluator's ``map``, ``mrr@k``, ``ndcg@k`` (and a
      sparse encoder's active dimensions; :mod:`hubrerank.evaluation.encoder_reranking`).
    """
    tasks = check_plan(plan)
    if not any(tasks.values()):  # nothing to measure: the model is not even loaded
        return results_document([], model_repo, model_sha)
    retriever = next((task for task in ("retrieval", "triplet") if tasks.get(task)), None)
    kind = kind_of_model(model_path)
    if tasks.get(ENCODER_RERANKING) and kind.name not in ENCODER_RETRIEVERS:
        raise RecipeError(
            f"evaluation: {ENCODER_RERANKING} judges a sparse or a multi-vector encoder, not a {kind.name}"
        )
    if retriever or kind.evaluation_task == "retrieval":
        if tasks.get("reranking"):
            raise RecipeError(
                f"evaluation: {retriever or 'retrieval'} judges a retriever, reranking a cross-encoder; "
                "not both"
            )
        if kind.name in ENCODER_RETRIEVERS:
            encoder = ENCODER_RETRIEVERS[kind.name][0](
                model_path,
                batch_size=batch_size,
                progress=progress,
                trust_remote_code=trust_remote_code,
                precision=precision,
            )
            results = evaluate_encoder_retrieval_tasks(encoder, kind.name, tasks, run_file=run_file)
            return results_document(results, model_repo, model_sha)
        embeddings = EmbeddingCache(cache.path if isinstance(cache, ScoreCache) else None) if cache else None
        try:
            embedder = load_bi_encoder(
                model_path,
                embeddings,
                batch_size=batch_size,
                progress=progress,
                trust_remote_code=trust_remote_code,
                precision=precision,
            )
            results = evaluate_retrieval_tasks(embedder, tasks, run_file=run_file)
        finally:
            if embeddings is not None:
                embeddings.close()
        return results_document(results, model_repo, model_sha)
    store = ScoreCache() if cache is True else cache or None
    try:
        scorer = Scorer(
            model_path,
            max_length=max_length,
            batch_size=batch_size,
            cache=store,
            trust_remote_code=trust_remote_code,
            progress=progress,
            precision=precision,
        )
        results = evaluate_model(scorer, tasks, run_file=run_file, metric_definition=metric_definition)
    finally:
        if store is not None and cache is True:
            store.close()
    return results_document(results, model_repo, model_sha)


def results_document(
    results: list[dict[str, Any]], model_repo: str | None, model_sha: str | None
) -> dict[str, Any]:
    """The eval_results.json dict around a ``results`` list; ``model`` is None without a repo."""
    model = {"repo": model_repo, "revision": model_sha} if model_repo else None
    return {"hubrerank_version": __version__, "model": model, "results": results}


def evaluate_model(
    scorer: Scorer,
    plan: Mapping[str, Any],
    *,
    run_file: Path | None = None,
    run_tag: str = "hubrerank",
    metric_definition: str | None = None,
) -> list[dict[str, Any]]:
    """The ``results`` list of :func:`run_evaluations` for a loaded :class:`Scorer`.

    With ``run_file``, the realistic reranked lists (what the first stage returned, or positives +
    negatives for rows without one) of every reranking task go to one TREC run file; queries without a
    relevant document are not scored (every metric counts them as 0) and are left out. Query ids are
    prefixed by the task's index (``0:``) when the plan has several reranking tasks. NanoBEIR lists go
    to the same file, their query ids prefixed by the subset (``NanoMSMARCO:1002``, see
    :func:`~hubrerank.evaluation.nanobeir.nanobeir_rankings`).
    """
    tasks = check_plan(plan)
    results, rankings = [], {}
    reranking = tasks.get("reranking", [])
    for index, task in enumerate(reranking):
        data = load_reranking_data(
            task["dataset"], task["revision"], config=task["config"], split=task["split"]
        )
        outcome = evaluate_rows(data.rows, scorer.predict, task["at_k"], metric_definition)
        prefix = f"{index}:" if len(reranking) > 1 else ""
        rankings.update({prefix + qid: ranking for qid, ranking in outcome.rankings.items()})
        results.append(reranking_result(task, data, outcome))
    nano = tasks.get("nanobeir")
    if nano:
        results.append(
            evaluate_nanobeir(
                scorer,
                nano["dataset"],
                nano["revision"],
                nano["datasets"],
                rerank_k=nano["rerank_k"],
                at_k=nano["at_k"],
                always_rerank_positives=nano["always_rerank_positives"],
                rankings=rankings if run_file is not None else None,
                metric_definition=metric_definition,
            )
        )
    if run_file is not None:
        write_run(run_file, rankings, run_tag)
    return with_variant(results, scorer.precision)


def evaluate_retrieval_tasks(
    embedder: Embedder,
    plan: Mapping[str, Any],
    per_query: list[dict[str, float]] | None = None,
    *,
    run_file: Path | None = None,
    run_tag: str = "hubrerank",
) -> list[dict[str, Any]]:
    """The ``results`` list of :func:`run_evaluations` for the plan's retrieval, NanoBEIR and triplet tasks
    and a loaded bi-encoder; ``per_query`` receives each retrieval task's per-query NDCG@k (for a paired
    test).

    With ``run_file``, what was retrieved goes to one TREC run file: each retrieval task's top
    ``max(100, at_k)`` per query, query ids the split's (prefixed by the task's index, ``0:``, when the plan
    has several retrieval tasks) and document ids the retrieval corpus's (the retrieval form's ``_id``, a
    reranking split's ``text_id``); and NanoBEIR's retrieved top 100 per query, with the query ids of the
    cross-encoder's NanoBEIR lists (``NanoMSMARCO:1002``).
    """
    tasks = check_plan(plan)
    evaluate = partial(evaluate_retrieval, embedder)
    results, rankings = _retrieval_results(tasks.get("retrieval", []), evaluate, per_query)
    nano = tasks.get("nanobeir")
    if nano:
        results.append(
            evaluate_nanobeir_retrieval(
                embedder,
                nano["dataset"],
                nano["revision"],
                nano["datasets"],
                at_k=nano["at_k"],
                rankings=rankings if run_file is not None else None,
            )
        )
    for task in tasks.get("triplet", []):
        triplets = load_triplet_split(
            task["dataset"], task["revision"], config=task["config"], split=task["split"]
        )
        metrics = evaluate_triplets(embedder, triplets)
        results.append(triplet_result(triplets, metrics, embedder.similarity_fn_name))
    if run_file is not None:
        write_run(run_file, rankings, run_tag)
    return with_variant(results, embedder.variant)


def _retrieval_results(
    retrieval: list[dict[str, Any]],
    evaluate: Callable[[RetrievalCorpus, int], RetrievalOutcome],
    per_query: list[dict[str, float]] | None,
    extra: Mapping[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, list[tuple[str, float]]]]:
    """Each retrieval task of a plan measured by ``evaluate`` (its result, with ``extra``), its per-query
    NDCG@k appended to ``per_query``, and every query's ranking for a run file (query ids prefixed by the
    task's index, ``0:``, when there are several tasks)."""
    results: list[dict[str, Any]] = []
    rankings: dict[str, list[tuple[str, float]]] = {}
    for index, task in enumerate(retrieval):
        data = load_retrieval_split(
            task["dataset"], task["revision"], config=task["config"], split=task["split"]
        )
        outcome = evaluate(data.corpus, task["at_k"])
        results.append(retrieval_result(task, data, outcome) | dict(extra or {}))
        prefix = f"{index}:" if len(retrieval) > 1 else ""
        rankings.update({prefix + qid: ranking for qid, ranking in outcome.rankings.items()})
        if per_query is not None:
            per_query.append(outcome.per_query_ndcg)
    return results, rankings


def evaluate_encoder_retrieval_tasks(
    retriever: SparseRetriever | MultiVectorRetriever,
    kind: str,
    plan: Mapping[str, Any],
    per_query: list[dict[str, float]] | None = None,
    *,
    run_file: Path | None = None,
    run_tag: str = "hubrerank",
) -> list[dict[str, Any]]:
    """The ``results`` list of :func:`run_evaluations` for the plan's retrieval and NanoBEIR tasks and a
    loaded retriever of ``kind`` that sentence-transformers encodes and scores itself (a sparse encoder:
    SparseInformationRetrievalEvaluator's and SparseNanoBEIREvaluator's metrics and sparsity; a
    multi-vector encoder: MultiVectorInformationRetrievalEvaluator's and MultiVectorNanoBEIREvaluator's),
    and its ``encoder-reranking`` tasks (:mod:`hubrerank.evaluation.encoder_reranking`:
    SparseRerankingEvaluator's or MultiVectorRerankingEvaluator's metrics, after the retrieval results).

    ``per_query`` receives each retrieval task's, then each encoder-reranking task's per-query NDCG@k.
    ``run_file`` receives what was retrieved, as :func:`evaluate_retrieval_tasks` writes it; the lists the
    encoder-reranking tasks ranked go to the same file when nothing was retrieved, else beside it
    (``NAME.encoder-reranking.EXT``, :func:`~hubrerank.evaluation.runfile.labelled_run_path`): each
    measured query's candidates in the evaluator's order with their scores, query ids the split's
    (prefixed by the task's index, ``0:``, when there are several), document ids as a reranking task's."""
    tasks = check_plan(plan)
    if tasks.get("triplet"):
        raise RecipeError(
            f"evaluation.triplet: hubrerank evaluates a {kind} by retrieval, encoder-reranking and NanoBEIR"
        )
    evaluate = partial(ENCODER_RETRIEVERS[kind][1], retriever)
    similarity = {"similarity": retriever.similarity_fn_name}
    results, rankings = _retrieval_results(tasks.get("retrieval", []), evaluate, per_query, similarity)
    reranking, reranked = tasks.get(ENCODER_RERANKING, []), {}
    for index, task in enumerate(reranking):
        data = load_reranking_data(
            task["dataset"], task["revision"], config=task["config"], split=task["split"]
        )
        outcome = evaluate_encoder_reranking(retriever, task, data)
        results.append(outcome.result)
        prefix = f"{index}:" if len(reranking) > 1 else ""
        reranked.update({prefix + qid: ranking for qid, ranking in outcome.rankings.items()})
        if per_query is not None:
            per_query.append(outcome.per_query_ndcg)
    nano = tasks.get("nanobeir")
    if nano:
        results.append(
            evaluate_nanobeir_retrieval(
                retriever,
                nano["dataset"],
                nano["revision"],
                nano["datasets"],
                at_k=nano["at_k"],
                rankings=rankings if run_file is not None else None,
                kind_name=kind,
            )
        )
    if run_file is not None:
        if reranked and not rankings:
            write_run(run_file, reranked, run_tag)
        else:
            write_run(run_file, rankings, run_tag)
            if reranked:
                write_run(labelled_run_path(run_file, ENCODER_RERANKING), reranked, run_tag)
    # these kinds run on torch only, in sentence-transformers' own batches (by characters)
    batching = None if retriever.dtype == FLOAT32.dtype else BY_CHARACTERS
    return with_variant(results, Variant(retriever.dtype, scheme=retriever.scheme, batching=batching))


def evaluate_reranking_with(
    plan: Mapping[str, Any],
    score_for: Callable[[RerankingData], ScoreFunction],
    metric_definition: str | None = None,
) -> list[dict[str, Any]]:
    """The ``results`` list of :func:`run_evaluations` for the plan's reranking tasks, each scored by
    ``score_for(data)`` (a baseline or a fusion that is not one loaded model: BM25, RRF, ...)."""
    results = []
    for task in check_plan(plan).get("reranking", []):
        data = load_reranking_data(
            task["dataset"], task["revision"], config=task["config"], split=task["split"]
        )
        outcome = evaluate_rows(data.rows, score_for(data), task["at_k"], metric_definition)
        results.append(reranking_result(task, data, outcome))
    return results


def reranking_result(
    task: Mapping[str, Any], data: RerankingData, outcome: RerankingOutcome
) -> dict[str, Any]:
    """One reranking entry of eval_results.json (with ``versus_first_stage`` when the data has
    first-stage lists)."""
    result = {
        "task": "reranking",
        "dataset": data.dataset,
        "revision": data.revision,
        "config": data.config,
        "split": data.split,
        "at_k": task["at_k"],
        "num_queries": len(data.rows),
        "queries_without_positives": outcome.queries_without_positives,
        "metric_definition": outcome.definition,
        "metrics": outcome.metrics,
    }
    if outcome.other_definitions:
        result["other_definitions"] = outcome.other_definitions
    if outcome.versus_first_stage is not None:
        result["versus_first_stage"] = outcome.versus_first_stage
    if "pearson" in outcome.metrics:
        result["teacher_pairs"] = outcome.teacher_pairs
    return result


def check_plan(plan: Mapping[str, Any]) -> dict[str, Any]:
    """``plan`` with defaults filled in; RecipeError naming the key for anything unknown or missing."""
    unknown = set(plan) - {*SPLIT_TASKS, "nanobeir"}
    if unknown:
        raise RecipeError(
            f"evaluation: unknown key(s) {', '.join(sorted(unknown))}; use reranking, nanobeir, retrieval, "
            f"triplet, {ENCODER_RERANKING}"
        )
    tasks: dict[str, Any] = {}
    for task in SPLIT_TASKS:
        keys, cut = (RERANKING_KEYS, {"at_k": 10}) if task in RANKED_TASKS else (TRIPLET_KEYS, {})
        entries = plan.get(task) or []
        if not isinstance(entries, list):
            raise RecipeError(f"evaluation.{task} must be a list of {{{', '.join(sorted(keys))}}}")
        if task != "reranking" and not entries:
            continue
        tasks[task] = [
            _with_defaults(
                entry,
                keys,
                f"evaluation.{task}[{index}]",
                revision=None,
                config=None,
                split="test",
                **cut,
            )
            for index, entry in enumerate(entries)
        ]
    if plan.get("nanobeir"):
        tasks["nanobeir"] = _with_defaults(
            plan["nanobeir"],
            NANOBEIR_KEYS,
            "evaluation.nanobeir",
            dataset=DEFAULT_DATASET,
            revision=None,
            datasets=list(DEFAULT_SUBSETS),
            rerank_k=100,
            at_k=10,
            always_rerank_positives=True,
        )
        if not isinstance(tasks["nanobeir"]["always_rerank_positives"], bool):
            raise RecipeError("evaluation.nanobeir.always_rerank_positives must be true or false")
    return tasks


def _with_defaults(entry: Any, keys: set[str], where: str, **defaults: Any) -> dict[str, Any]:
    if not isinstance(entry, Mapping):
        raise RecipeError(f"{where} must be a mapping with keys {', '.join(sorted(keys))}")
    unknown = set(entry) - keys
    if unknown:
        raise RecipeError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))}; use {', '.join(sorted(keys))}"
        )
    merged = {**defaults, **{key: value for key, value in entry.items() if value is not None}}
    if "dataset" not in merged:
        raise RecipeError(f"{where}: missing key 'dataset' (a Hub dataset id or a local path)")
    for key in ("at_k", "rerank_k"):
        if key in merged and (not isinstance(merged[key], int) or merged[key] < 1):
            raise RecipeError(f"{where}.{key} must be a positive integer, not {merged[key]!r}")
    return merged
