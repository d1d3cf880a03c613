"""Compare models side by side on reranking data and NanoBEIR: what ``hubrerank eval`` runs.

Cross-encoders rerank; a bi-encoder (SentenceTransformer) among the models is judged by retrieval over
each data split's whole corpus instead (:mod:`hubrerank.evaluation.retrieval`), in a table of its own; a
sparse or multi-vector encoder by retrieval and, on reranking-form data, by reranking each query's lists
as its kind's reranking evaluator does (:mod:`hubrerank.evaluation.encoder_reranking`).

:func:`compare_models` resolves every reference once, checks the data and the models before any
scoring, evaluates each model (plus the fusion and BM25 rows asked for) and builds the tables the
renderers of :mod:`hubrerank.evaluation.report` print, write as Markdown or draw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubrerank.embeddings import EmbeddingCache
from hubrerank.errors import InputError
from hubrerank.evaluation.cache import ScoreCache
from hubrerank.evaluation.encoder_reranking import encoder_samples
from hubrerank.evaluation.fusion import (
    check_fusable,
    check_scoring_model,
    evaluate_fused,
    evaluate_mixed,
    fusion_label,
    mix_label,
    model_score_function,
)
from hubrerank.evaluation.lexical import BM25_LABEL, evaluate_bm25
from hubrerank.evaluation.metrics import ScoreFunction
from hubrerank.evaluation.nanobeir import (
    DEFAULT_SUBSETS,
    RETRIEVAL_CONFIGS,
    nanobeir_folder,
    resolve_nanobeir,
)
from hubrerank.evaluation.plan import (
    ENCODER_RETRIEVERS,
    evaluate_encoder_retrieval_tasks,
    evaluate_model,
    evaluate_retrieval_tasks,
    results_document,
)
from hubrerank.evaluation.report import Evaluation, Table, tables
from hubrerank.evaluation.retrieval import load_bi_encoder, load_retrieval_split, retrieval_layout
from hubrerank.evaluation.runfile import run_path
from hubrerank.evaluation.samples import load_reranking_data, resolve_data
from hubrerank.evaluation.scoring import Scorer, check_cross_encoder
from hubrerank.kinds.detect import model_kind
from hubrerank.kinds.spec import ENCODER_RERANKING
from hubrerank.paths import check_writable
from hubrerank.runtime import FLOAT32, Variant

Say = Callable[[str], None]
RETRIEVER_KINDS = ("bi-encoder", "sparse-encoder", "multi-vector")  # judged by retrieval over the corpus
# the tasks whose per-query NDCG@k the retrievers are tested on against each other
PAIRED_TASKS = ("retrieval", ENCODER_RERANKING)


@dataclass(frozen=True)
class ComparisonRequest:
    """What to compare and how; the defaults are ``hubrerank eval``'s.

    ``models`` are ``MODEL[@REV]`` Hub refs or local folders; ``data`` reranking data refs (a Hub dataset
    ``REPO[@REV]`` or a local file or folder); ``nanobeir`` a NanoBEIR ``DATASET_ID[@REV]`` or folder
    (None: no NanoBEIR). ``cache`` reads and fills ``$HUBRERANK_HOME/scores.sqlite``; without it, a
    fusion still scores each pair once through an in-memory cache. ``run_file`` writes the reranked
    (a bi-encoder's: retrieved) lists as TREC runs (``NAME.MODEL.EXT`` per model when there are several).
    ``bm25`` adds a BM25 row, English stopwords removed when ``language`` is ``en``.
    ``metric_definition`` is the definition of reranking NDCG and MAP (None: the installed
    sentence-transformers'); ``always_rerank_positives`` is NanoBEIR's (the evaluator's default, true).
    ``precision`` is the variant (backend, file, dtype, device) every model (and ``fuse_with``) runs as.
    """

    models: tuple[str, ...]
    data: tuple[str, ...] = ()
    split: str = "test"
    config: str | None = None
    at_k: int = 10
    nanobeir: str | None = None
    nanobeir_subsets: tuple[str, ...] = DEFAULT_SUBSETS
    rerank_k: int = 100
    run_file: Path | None = None
    batch_size: int = 32
    max_length: int | None = None
    cache: bool = True
    bm25: bool = False
    language: str = "en"
    fuse_first_stage: bool = False
    fuse_with: str | None = None
    fusion_weight: float = 0.3
    first_stage_name: str = "first stage"
    progress: bool = False
    metric_definition: str | None = None
    always_rerank_positives: bool = True
    precision: Variant = FLOAT32

    def check(self) -> None:
        """InputError naming the missing option when the request cannot run (before anything loads)."""
        if not self.data and self.nanobeir is None:
            raise InputError("give --data REF and/or --nanobeir [DATASET_ID[@REV]]")
        for flag, given in (("--fuse-first-stage", self.fuse_first_stage), ("--fuse-with", self.fuse_with)):
            if given and not self.data:
                raise InputError(f"{flag} needs --data REF (reranking data)")
        if self.run_file is not None:
            check_writable(self.run_file, "--run-file")
        self.precision.check()


@dataclass(frozen=True)
class Comparison:
    """The evaluations (row label, eval_results dict), in row order, and the tables built from them."""

    evaluations: list[Evaluation]
    tables: list[Table]


@dataclass(frozen=True)
class _Model:
    label: str
    repo: str | None
    sha: str | None
    path: Path
    kind: str = "cross-encoder"  # a bi-encoder or a sparse encoder is judged by retrieval, not reranking

    @property
    def retriever(self) -> bool:
        return self.kind in RETRIEVER_KINDS


def compare_models(request: ComparisonRequest, say: Say = lambda _: None) -> Comparison:
    """Evaluate ``request.models`` side by side; ``say`` receives one progress line per model.

    Every data ref, the NanoBEIR dataset and every model is resolved and checked before scoring, so
    bad input fails fast. Rows: each model, then (when asked) that model fused with the first stage
    by RRF and mixed with ``fuse_with``'s scores; a BM25 row last.
    """
    from hubrerank.hub import resolve_model

    request.check()
    plan, retrieval_form = _plan(request)
    if retrieval_form and request.bm25:
        raise InputError(_retrieval_form_message(retrieval_form[0], "--bm25 reranks the data's first stage"))
    models = []
    for text in request.models:
        ref, path = resolve_model(text, request.precision.files)
        kind = model_kind(path)
        if kind in RETRIEVER_KINDS:
            _check_retriever_request(request, text, kind)
        else:
            check_cross_encoder(path)
            if retrieval_form:
                raise InputError(_retrieval_form_message(retrieval_form[0], f"{text} is a reranker"))
        models.append(_Model(text, ref.repo_id if ref else None, ref.sha if ref else None, path, kind))
    nano = plan.get("nanobeir")
    if nano and not all(model.retriever for model in models):  # a reranker reranks the BM25 lists too
        nanobeir_folder(nano["dataset"], nano["revision"], nano["datasets"])
    other = None
    if request.fuse_with:
        _, other_path = resolve_model(request.fuse_with, request.precision.files)
        check_scoring_model(other_path, f"--fuse-with {request.fuse_with}")
        other = model_score_function(other_path, request.batch_size, request.precision)
    cache = ScoreCache() if request.cache else None
    if not request.cache and (request.fuse_first_stage or request.fuse_with):
        cache = ScoreCache(Path(":memory:"))  # a cache for this comparison: fusion scores once
    try:
        evaluations = _evaluate(request, plan, retrieval_form, models, other, cache, say)
    finally:
        if cache is not None:
            cache.close()
    if request.bm25 and plan["reranking"]:
        bm25_results = evaluate_bm25(plan, request.language, request.metric_definition)
        evaluations.append((BM25_LABEL, results_document(bm25_results, None, None)))
    return Comparison(evaluations, tables(evaluations, request.first_stage_name))


def _check_retriever_request(request: ComparisonRequest, model: str, kind: str) -> None:
    """A retriever is compared by retrieval on --data and NanoBEIR: refuse the reranking-only options."""
    options = {
        "--fuse-first-stage": request.fuse_first_stage,
        "--fuse-with": request.fuse_with is not None,
    }
    for option, given in options.items():
        if given:
            raise InputError(f"{option} reranks with cross-encoders, but {model} is a {kind} (a retriever)")


def _retrieval_form_message(dataset: str, what: str) -> str:
    return (
        f"{what}, but {dataset} is retrieval-form data (corpus, queries, qrels), which judges retrievers; "
        "give a reranking split, or compare first stages with and without a reranker: `hubrerank pipeline`"
    )


def _plan(request: ComparisonRequest) -> tuple[dict[str, Any], list[str]]:
    """The evaluation plan (every revision pinned) and the datasets in it that are in the retrieval form;
    the data is loaded once here to fail before scoring."""
    plan: dict[str, Any] = {"reranking": []}
    retrieval_form = []
    for ref in request.data:
        dataset, revision = resolve_data(ref)
        if request.config in (None, "queries") and retrieval_layout(dataset, revision) is not None:
            load_retrieval_split(dataset, revision, config=request.config, split=request.split)
            retrieval_form.append(dataset)
        else:
            data = load_reranking_data(dataset, revision, config=request.config, split=request.split)
            if request.fuse_first_stage:
                check_fusable(data)
        plan["reranking"].append(
            {
                "dataset": dataset,
                "revision": revision,
                "config": request.config,
                "split": request.split,
                "at_k": request.at_k,
            }
        )
    if request.nanobeir is not None:
        dataset, revision = resolve_nanobeir(request.nanobeir)
        subsets = list(request.nanobeir_subsets)
        nanobeir_folder(dataset, revision, subsets, RETRIEVAL_CONFIGS)  # the bm25 config: per model
        plan["nanobeir"] = {
            "dataset": dataset,
            "revision": revision,
            "datasets": subsets,
            "rerank_k": request.rerank_k,
            "at_k": request.at_k,
            "always_rerank_positives": request.always_rerank_positives,
        }
    return plan, retrieval_form


def _evaluate(
    request: ComparisonRequest,
    plan: dict[str, Any],
    retrieval_form: list[str],
    models: list[_Model],
    other: ScoreFunction | None,
    cache: ScoreCache | None,
    say: Say,
) -> list[Evaluation]:
    """Each model's row, followed by its fusion rows (``retrieval_form``: the plan's datasets in the
    retrieval form, which have no lists to rerank)."""
    evaluations: list[Evaluation] = []
    retrievers: list[tuple[str, list[dict[str, Any]], list[dict[str, float]]]] = []
    lists: list[dict[str, Any]] | None = None  # the encoders' reranking tasks, read once
    for model in models:
        say(f"Evaluating {model.label} ...")
        if model.kind in ENCODER_RETRIEVERS:
            encoder = ENCODER_RETRIEVERS[model.kind][0](
                model.path,
                batch_size=request.batch_size,
                progress=request.progress,
                precision=request.precision,
            )
            lists = lists if lists is not None else _ranked_lists(plan, retrieval_form)
            tasks = {
                "retrieval": plan["reranking"],
                ENCODER_RERANKING: lists,
                "nanobeir": plan.get("nanobeir"),
            }
            query_ndcg: list[dict[str, float]] = []
            run_file = run_path(request.run_file, model.label, len(models))
            results = evaluate_encoder_retrieval_tasks(
                encoder, model.kind, tasks, query_ndcg, run_file=run_file, run_tag=model.label
            )
            evaluations.append((model.label, results_document(results, model.repo, model.sha)))
            retrievers.append((model.label, results, query_ndcg))
            continue
        if model.retriever:
            embeddings = EmbeddingCache(cache.path) if cache is not None else None
            try:
                embedder = load_bi_encoder(
                    model.path,
                    embeddings,
                    batch_size=request.batch_size,
                    progress=request.progress,
                    precision=request.precision,
                )
                tasks = {"retrieval": plan["reranking"], "nanobeir": plan.get("nanobeir")}
                per_query: list[dict[str, float]] = []
                run_file = run_path(request.run_file, model.label, len(models))
                results = evaluate_retrieval_tasks(
                    embedder, tasks, per_query, run_file=run_file, run_tag=model.label
                )
            finally:
                if embeddings is not None:
                    embeddings.close()
            say(f"  {embedder.computed} texts embedded, {embedder.reused} from the cache")
            evaluations.append((model.label, results_document(results, model.repo, model.sha)))
            retrievers.append((model.label, results, per_query))
            continue
        scorer = Scorer(
            model.path,
            max_length=request.max_length,
            batch_size=request.batch_size,
            cache=cache,
            progress=request.progress,
            precision=request.precision,
        )
        run_file = run_path(request.run_file, model.label, len(models))
        results = evaluate_model(
            scorer, plan, run_file=run_file, run_tag=model.label, metric_definition=request.metric_definition
        )
        say(f"  {scorer.computed} pairs scored, {scorer.reused} from the cache")
        evaluations.append((model.label, results_document(results, model.repo, model.sha)))
        if request.fuse_first_stage:
            fused = results_document(
                evaluate_fused(scorer, plan, metric_definition=request.metric_definition), None, None
            )
            evaluations.append((fusion_label(model.label, request.first_stage_name), fused))
        if other is not None:
            assert request.fuse_with is not None
            mixed = evaluate_mixed(scorer, plan, other, request.fusion_weight, request.metric_definition)
            label = mix_label(model.label, request.fuse_with, request.fusion_weight)
            evaluations.append((label, results_document(mixed, None, None)))
    _test_first_retriever(retrievers)
    return evaluations


def _ranked_lists(plan: dict[str, Any], retrieval_form: list[str]) -> list[dict[str, Any]]:
    """The plan's reranking entries with lists a sparse or multi-vector encoder reranks: not in the
    retrieval form, with a query that has a positive and a negative."""
    return [
        entry
        for entry in plan["reranking"]
        if entry["dataset"] not in retrieval_form
        and encoder_samples(
            load_reranking_data(
                entry["dataset"], entry["revision"], config=entry["config"], split=entry["split"]
            )
        )
    ]


def _test_first_retriever(retrievers: list[tuple[str, list[dict[str, Any]], list[dict[str, float]]]]) -> None:
    """Add to each retrieval and encoder-reranking result of the first retriever ``versus_models``: the
    paired randomization test of its per-query NDCG@k against each other retriever's on the same task
    (e.g. a fine-tune against its base model). ``retrievers``: (label, results, the per-query NDCG@k of
    the results of :data:`PAIRED_TASKS`, in order)."""
    from hubrerank.evaluation.significance import versus_first_stage

    if len(retrievers) < 2:
        return
    (_, first), *others = [(label, _paired(results, values)) for label, results, values in retrievers]
    for result, ours in first:
        metric, versus = f"ndcg@{result['at_k']}", []
        for label, paired in others:
            theirs = next((values for other, values in paired if _same_task(other, result)), None)
            if theirs is not None:
                values = [theirs[query] for query in ours]
                versus.append({"model": label, **versus_first_stage(list(ours.values()), values, metric)})
        if versus:
            result["versus_models"] = versus


def _paired(
    results: list[dict[str, Any]], per_query: list[dict[str, float]]
) -> list[tuple[dict[str, Any], dict[str, float]]]:
    """Each result of :data:`PAIRED_TASKS` with its per-query NDCG@k."""
    return list(zip([result for result in results if result["task"] in PAIRED_TASKS], per_query, strict=True))


def _same_task(one: dict[str, Any], other: dict[str, Any]) -> bool:
    """True when two results measure the same task on the same split with the same cut-off."""
    keys = ("task", "dataset", "revision", "config", "split", "at_k")
    return all(one.get(key) == other.get(key) for key in keys)
