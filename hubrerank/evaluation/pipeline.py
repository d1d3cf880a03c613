"""Two-stage pipelines: a first stage over a whole corpus, alone and followed by a cross-encoder.

A reranker is a cross-encoder, or a retriever of any kind reordering another first stage's top-k by its own
scores (a multi-vector encoder's MaxSim over BM25's candidates, say).

First stages rank every document of the corpus (:mod:`hubrerank.evaluation.retrieval` defines it: a
retrieval-form dataset's whole corpus, or a reranking split's distinct documents) for each query, ties
by ascending corpus id: BM25 (bm25s; documents sharing no term with the query are not ranked), a
bi-encoder (the evaluator's similarity), a sparse encoder (SPLADE: its dot product, as
``SparseInformationRetrievalEvaluator`` ranks), or a hybrid of BM25 and either by weighted reciprocal
rank fusion over both *full* rankings (``weight / (60 + rank)`` for the bi-encoder, ``(1 - weight) /
(60 + rank)`` for BM25; ties keep the bi-encoder's order). A reranked pipeline orders the first stage's
top-k by the cross-encoder's logits (ties keep the first-stage order) and keeps the rest of the
first-stage ranking after them.

Each pipeline gets seed 000's table: hit rate and MRR at 1..5 and NDCG@10, exactly as
``InformationRetrievalEvaluator`` computes ``accuracy@k``, ``mrr@k`` and ``ndcg@k`` on that ranking,
and the paired randomization test of its per-query NDCG@10 against a baseline pipeline.

Each model does its work once: a retriever encodes the corpus and the queries once, and the
cross-encoder scores each distinct (query, document) pair once over all pipelines, through the score
cache (:mod:`hubrerank.evaluation.cache`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from hubrerank.errors import HubrerankError, InputError
from hubrerank.evaluation.report import Table
from hubrerank.evaluation.retrieval import (
    RetrievalCorpus,
    rank_positions,
    retrieval_metrics,
    similarity_matrix,
)
from hubrerank.evaluation.runfile import labelled_run_path, write_run
from hubrerank.evaluation.scoring import Scorer
from hubrerank.record import VersusFirstStage
from hubrerank.runtime import FLOAT32, Variant

HIT_KS = (1, 2, 3, 4, 5)
NDCG_K = 10
BM25_NAME = "BM25"
DEFAULT_TOP_K = 20
RUN_DEPTH = 100  # documents per query in a pipeline's TREC run
_KS = {
    "accuracy_at_k": list(HIT_KS),
    "precision_recall_at_k": [],
    "mrr_at_k": list(HIT_KS),
    "ndcg_at_k": [NDCG_K],
    "map_at_k": [],
}
Say = Callable[[str], None]
Ranking = list[int]  # corpus positions, best first
Scores = Callable[[RetrievalCorpus], np.ndarray]  # a retriever: its (queries, documents) similarity matrix
T = TypeVar("T")


@dataclass(frozen=True)
class PipelineRequest:
    """What ``hubrerank pipeline`` evaluates; the defaults are its own.

    ``data`` is retrieval-form or reranking data (a Hub dataset ``REPO[@REV]`` or a local file or
    folder); ``retrievers`` bi-encoders or sparse encoders (``MODEL[@REV]`` or local folders, the kind read
    from their configs) named by ``retriever_names``
    (default: as given); ``bm25`` adds BM25, with English stopwords removed when ``language`` is ``en``
    (as ``hubrerank data build --language``); ``hybrid_weight`` adds, per retriever, its fusion with
    BM25 (the bi-encoder's weight, BM25 gets the rest); ``reranker`` a cross-encoder reranking each first
    stage's ``top_k``,
    named ``reranker_name`` (default: as given); ``baseline`` the pipeline every other is tested
    against (default: the first); ``run_file`` writes each pipeline's ranking as a TREC run
    (:func:`write_pipeline_runs`). ``precision`` is the variant every model runs as.
    """

    data: str
    retrievers: tuple[str, ...] = ()
    retriever_names: tuple[str, ...] = ()
    split: str = "test"
    config: str | None = None
    bm25: bool = False
    language: str = "en"
    hybrid_weight: float | None = None
    reranker: str | None = None
    reranker_name: str | None = None
    top_k: int = DEFAULT_TOP_K
    baseline: str | None = None
    batch_size: int = 32
    max_length: int | None = None
    cache: bool = True
    progress: bool = False
    run_file: Path | None = None
    precision: Variant = FLOAT32

    def retriever_labels(self) -> list[str]:
        """The retrievers' names: ``retriever_names`` when given, else the references as written."""
        return list(self.retriever_names or self.retrievers)

    def hybrid_label(self, retriever: str) -> str:
        return f"{BM25_NAME} + {retriever} (RRF {self.hybrid_weight:g}:{1 - (self.hybrid_weight or 0):g})"

    def stage_names(self) -> list[str]:
        """The first stages in row order: the retrievers, BM25, then the hybrids."""
        names = self.retriever_labels()
        if self.bm25:
            names.append(BM25_NAME)
        if self.hybrid_weight is not None:
            names += [self.hybrid_label(name) for name in self.retriever_labels()]
        return names

    def reranked_label(self, stage: str) -> str:
        return f"{stage} + {self.reranker_label()} (top {self.top_k})"

    def reranker_label(self) -> str | None:
        """The reranker's name: ``reranker_name`` when given, else the reference as written."""
        return self.reranker_name or self.reranker

    def pipeline_names(self) -> list[str]:
        """Every pipeline in row order: each first stage, followed by it reranked when there is a reranker."""
        names = []
        for stage in self.stage_names():
            names.append(stage)
            if self.reranker:
                names.append(self.reranked_label(stage))
        return names

    def check(self) -> None:
        """InputError naming the option when the request cannot run (before anything loads)."""
        self.precision.check()
        if not self.retrievers and not self.bm25:
            raise InputError("give a first stage: --retriever MODEL (repeatable) and/or --bm25")
        if self.retriever_names and len(self.retriever_names) != len(self.retrievers):
            raise InputError(
                f"--retriever-name given {len(self.retriever_names)} times for {len(self.retrievers)} "
                "--retriever; give one name per retriever, in the same order"
            )
        if self.hybrid_weight is not None:
            if not self.retrievers:
                raise InputError("--hybrid fuses BM25 with a bi-encoder: add --retriever MODEL")
            if not 0 <= self.hybrid_weight <= 1:
                raise InputError(
                    f"--hybrid {self.hybrid_weight:g}: give the bi-encoder's weight between 0 and 1 "
                    "(BM25 gets 1 - weight)"
                )
        if self.reranker_name and not self.reranker:
            raise InputError("--reranker-name names the --reranker: add --reranker MODEL")
        if self.top_k < 1:
            raise InputError(f"--top-k {self.top_k}: give at least 1 document to rerank")
        names = self.pipeline_names()
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise InputError(
                f"two pipelines are named {repeated[0]!r}; give each --retriever its own --retriever-name"
            )
        if self.baseline is not None and self.baseline not in names:
            raise InputError(
                f"--baseline {self.baseline!r} is no pipeline; choose one of: {', '.join(names)}"
            )
        if self.run_file is not None and len(names) > 1:
            paths = [labelled_run_path(self.run_file, name) for name in names]
            clash = next(
                (name for name, path in zip(names, paths, strict=True) if paths.count(path) > 1), None
            )
            if clash is not None:
                raise InputError(
                    f"--run-file: two pipelines would write {labelled_run_path(self.run_file, clash).name}; "
                    "give the retrievers names that differ in more than punctuation (--retriever-name)"
                )


# the paired randomization test of a pipeline's per-query NDCG@10 against the baseline's (wins: queries
# it is better on), recorded as a reranking's test against its first stage is
PairedTest = VersusFirstStage


@dataclass(frozen=True)
class PipelineResult:
    """One pipeline's metrics (``hit_rate@k``, ``mrr@k`` for k in 1..5, ``ndcg@10``), its NDCG@10 per
    query id, and its test against the baseline (None for the baseline itself)."""

    name: str
    first_stage: str
    reranker: str | None
    metrics: dict[str, float]
    per_query_ndcg: dict[str, float]
    versus_baseline: PairedTest | None


@dataclass(frozen=True)
class PipelineResults:
    """Every pipeline measured on one split, with where the data came from, each model as it was read
    (``models``: name -> ``REPO@SHA`` or the local folder) and the reranker's work (pairs sent through the
    model, pairs answered from the score cache)."""

    dataset: str
    revision: str | None
    config: str
    split: str
    num_queries: int
    queries_without_positives: int
    corpus_size: int
    top_k: int
    reranker: str | None
    baseline: str
    models: dict[str, str]
    pairs_scored: int
    pairs_cached: int
    pipelines: list[PipelineResult]
    variant: Variant = FLOAT32  # how the models ran

    def json_document(self) -> dict[str, Any]:
        """What ``--json`` writes (docs/contracts.md, "Pipeline results"): ``dtype`` and ``dtype_scheme``
        only when not float32, ``backend`` and ``model_file`` only when not torch, ``batching`` with
        either."""
        document = asdict(self)
        del document["variant"]
        return {**document, **self.variant.record()}


def evaluate_pipelines(request: PipelineRequest, say: Say = lambda _: None) -> PipelineResults:
    """Measure every pipeline of ``request`` over the whole corpus of its split (module docstring).

    The data and every model are loaded and checked before any encoding; ``say`` receives progress lines.
    """
    from hubrerank.embeddings import EmbeddingCache
    from hubrerank.evaluation.cache import ScoreCache
    from hubrerank.evaluation.retrieval import load_retrieval_split
    from hubrerank.evaluation.samples import resolve_data

    request.check()
    dataset, revision = resolve_data(request.data)
    data = load_retrieval_split(dataset, revision, config=request.config, split=request.split)
    corpus = data.corpus
    models: dict[str, str] = {}
    encoders = []
    embeddings = EmbeddingCache() if request.cache and request.retrievers else None
    for label, text in zip(request.retriever_labels(), request.retrievers, strict=True):
        encoder, models[label] = _load(
            "--retriever", text, lambda path: _retriever(request, path, embeddings), request.precision.files
        )
        encoders.append(encoder)
    cache = ScoreCache() if request.cache and request.reranker else None
    try:
        reranker: Scorer | Scores | None = None
        if request.reranker:
            reranker, models[str(request.reranker_label())] = _load(
                "--reranker",
                request.reranker,
                lambda path: _reranker(request, path, cache, embeddings),
                request.precision.files,
            )
        stages = _first_stages(request, corpus, encoders, say)
        pipelines: dict[str, tuple[str, list[Ranking]]] = {}
        logits = _pair_scores(reranker, corpus, list(stages.values()), request.top_k, say) if reranker else []
        scorer = reranker if isinstance(reranker, Scorer) else None
        for stage, rankings in stages.items():
            pipelines[stage] = (stage, rankings)
            if reranker is not None:
                reranked = [rerank(ranking, logits[q], request.top_k) for q, ranking in enumerate(rankings)]
                pipelines[request.reranked_label(stage)] = (stage, reranked)
    finally:
        for opened in (cache, embeddings):
            if opened is not None:
                opened.close()
    if request.run_file is not None:
        paths = write_pipeline_runs(request.run_file, corpus, pipelines)
        say(f"TREC runs written: {', '.join(str(path) for path in paths)}")
    baseline = request.baseline or request.pipeline_names()[0]
    return PipelineResults(
        dataset=data.dataset,
        revision=data.revision,
        config=data.config,
        split=data.split,
        num_queries=len(corpus.queries),
        queries_without_positives=corpus.queries_without_positives,
        corpus_size=len(corpus.corpus),
        top_k=request.top_k,
        reranker=request.reranker_label(),
        baseline=baseline,
        models=models,
        pairs_scored=scorer.computed if scorer else 0,
        pairs_cached=scorer.reused if scorer else 0,
        pipelines=_measure(request, corpus, pipelines, baseline),
        variant=request.precision,
    )


def write_pipeline_runs(
    run_file: Path, corpus: RetrievalCorpus, pipelines: dict[str, tuple[str, list[Ranking]]]
) -> list[Path]:
    """Each pipeline's top ``RUN_DEPTH`` per query as a TREC run tagged with its name: ``run_file`` for one
    pipeline, else ``NAME.PIPELINE.EXT`` each. Documents are the corpus ids; the score is ``RUN_DEPTH`` minus
    the 0-based rank, since a reranked or fused ranking has no one score that orders it whole."""
    query_ids, corpus_ids = list(corpus.queries), list(corpus.corpus)
    paths = []
    for name, (_, rankings) in pipelines.items():
        runs = {
            qid: [
                (corpus_ids[document], float(RUN_DEPTH - rank))
                for rank, document in enumerate(ranking[:RUN_DEPTH])
            ]
            for qid, ranking in zip(query_ids, rankings, strict=True)
        }
        path = run_file if len(pipelines) == 1 else labelled_run_path(run_file, name)
        paths.append(write_run(path, runs, name))
    return paths


def hybrid_rankings(dense: list[Ranking], lexical: list[Ranking], weight: float) -> list[Ranking]:
    """Weighted reciprocal rank fusion of two full rankings per query (the bi-encoder's with ``weight``,
    BM25's with ``1 - weight``): every document either ranks is fused, none is cut off first."""
    from hubrerank.data.candidates import fuse

    depth = max((len(ranking) for ranking in (*dense, *lexical)), default=0)
    fused = fuse([dict(enumerate(dense)), dict(enumerate(lexical))], depth, [weight, 1.0 - weight])
    return [fused[q] for q in range(len(dense))]


def rerank(ranking: Ranking, scores: dict[int, float], top_k: int) -> Ranking:
    """``ranking``'s top ``top_k`` ordered by ``scores`` (ties keep the first-stage order), then the rest."""
    return sorted(ranking[:top_k], key=lambda document: -scores[document]) + ranking[top_k:]


def _load(option: str, text: str, load: Callable[[Path], T], files: Sequence[str]) -> tuple[T, str]:
    """``load`` the model ``text`` names (a local folder or ``REPO[@REV]``, with ``files``), and how it
    was read (``REPO@SHA`` or the folder); any failure is an InputError naming ``option``."""
    from hubrerank.hub import first_line, resolve_model

    try:
        ref, path = resolve_model(text, files)
        return load(path), f"{ref.repo_id}@{ref.sha}" if ref else str(path)
    except HubrerankError as error:
        raise InputError(f"{option} {text}: {error}") from None
    except (OSError, ValueError) as error:
        raise InputError(
            f"{option} {text} cannot be loaded ({first_line(error)}); give a model folder or REPO[@REV] "
            "holding a complete sentence-transformers model"
        ) from None


def _retriever(request: PipelineRequest, path: Path, embeddings: Any) -> Scores:
    """The similarity matrix function of the retriever in ``path``, by its kind: a bi-encoder's through
    the embedding cache, a sparse encoder's; InputError for any other kind."""
    from hubrerank.evaluation.multi_vector_retrieval import load_multi_vector_encoder
    from hubrerank.evaluation.retrieval import load_bi_encoder
    from hubrerank.evaluation.sparse_retrieval import load_sparse_encoder, sparse_similarity_matrix
    from hubrerank.kinds.detect import model_kind

    options = {"batch_size": request.batch_size, "progress": request.progress, "precision": request.precision}
    kind = model_kind(path)
    if kind == "sparse-encoder":
        return partial(sparse_similarity_matrix, load_sparse_encoder(path, **options))
    if kind == "multi-vector":
        return load_multi_vector_encoder(path, **options).similarity_matrix
    if kind != "bi-encoder":
        raise InputError(
            f"{path} is a {kind} model; a first stage is a bi-encoder, a sparse encoder or a multi-vector "
            "encoder"
        )
    return partial(similarity_matrix, load_bi_encoder(path, embeddings, **options))


def _first_stages(
    request: PipelineRequest, corpus: RetrievalCorpus, encoders: list[Scores], say: Say
) -> dict[str, list[Ranking]]:
    """Each first stage's full ranking of the corpus, one per query (in ``corpus.queries`` order)."""
    corpus_ids = list(corpus.corpus)
    stages: dict[str, list[Ranking]] = {}
    for label, encoder in zip(request.retriever_labels(), encoders, strict=True):
        say(f"Encoding {len(corpus_ids)} documents and {len(corpus.queries)} queries with {label} ...")
        stages[label] = rank_positions(encoder(corpus), corpus_ids)
    if not request.bm25 and request.hybrid_weight is None:
        return stages
    from hubrerank.data.retrieval import Bm25Index

    say(f"Ranking {len(corpus_ids)} documents with BM25 ...")
    found, found_scores = Bm25Index(list(corpus.corpus.values()), request.language).search(
        list(corpus.queries.values()), len(corpus_ids)
    )
    scores = np.full((len(found), len(corpus_ids)), -np.inf)
    np.put_along_axis(
        scores, np.where(found >= 0, found, 0), np.where(found >= 0, found_scores, -np.inf), axis=1
    )
    matched = [set(row[row >= 0].tolist()) for row in found]
    lexical = [
        [document for document in ranking if document in matched[q]]
        for q, ranking in enumerate(rank_positions(scores, corpus_ids))
    ]
    if request.bm25:
        stages[BM25_NAME] = lexical
    if request.hybrid_weight is not None:
        for label in request.retriever_labels():
            stages[request.hybrid_label(label)] = hybrid_rankings(
                stages[label], lexical, request.hybrid_weight
            )
    return stages


def _reranker(request: PipelineRequest, path: Path, cache: Any, embeddings: Any) -> Scorer | Scores:
    """The reranker in ``path``: a cross-encoder's Scorer, or a retriever's similarity (a bi-encoder, a
    sparse or a multi-vector encoder reranks a first stage's top-k by its own scores, as
    MultiVectorRerankingEvaluator and SparseRerankingEvaluator rerank)."""
    from hubrerank.kinds.detect import model_kind

    if model_kind(path) in ("bi-encoder", "sparse-encoder", "multi-vector"):
        return _retriever(request, path, embeddings)
    return Scorer(
        path,
        max_length=request.max_length,
        batch_size=request.batch_size,
        cache=cache,
        progress=request.progress,
        precision=request.precision,
    )


def _pair_scores(
    reranker: Scorer | Scores, corpus: RetrievalCorpus, stages: list[list[Ranking]], top_k: int, say: Say
) -> list[dict[int, float]]:
    """The reranker's score of every (query, document) pair in some first stage's top ``top_k``, per
    query: a cross-encoder's logits (:func:`_pair_logits`), or a retriever's similarities, read from its
    score matrix over the corpus (each text encoded once)."""
    if isinstance(reranker, Scorer):
        return _pair_logits(reranker, corpus, stages, top_k, say)
    say(f"Reranking the first stages' top {top_k} by the reranker's similarity ...")
    scores = reranker(corpus)
    per_query: list[dict[int, float]] = [{} for _ in corpus.queries]
    for rankings in stages:
        for q, ranking in enumerate(rankings):
            per_query[q].update((document, float(scores[q, document])) for document in ranking[:top_k])
    return per_query


def _pair_logits(
    scorer: Scorer, corpus: RetrievalCorpus, stages: list[list[Ranking]], top_k: int, say: Say
) -> list[dict[int, float]]:
    """The cross-encoder's logit of every (query, document) pair in some first stage's top ``top_k``,
    per query; each distinct pair is scored once."""
    queries, documents = list(corpus.queries.values()), list(corpus.corpus.values())
    pairs = list(
        dict.fromkeys(
            (q, document)
            for rankings in stages
            for q, ranking in enumerate(rankings)
            for document in ranking[:top_k]
        )
    )
    say(f"Reranking: {len(pairs)} distinct (query, document) pairs in the first stages' top {top_k} ...")
    logits = scorer.logits([(queries[q], documents[document]) for q, document in pairs])
    per_query: list[dict[int, float]] = [{} for _ in queries]
    for (q, document), logit in zip(pairs, logits.tolist(), strict=True):
        per_query[q][document] = logit
    return per_query


def _measure(
    request: PipelineRequest,
    corpus: RetrievalCorpus,
    pipelines: dict[str, tuple[str, list[Ranking]]],
    baseline: str,
) -> list[PipelineResult]:
    """Each pipeline's metrics and its paired test against ``baseline``, in pipeline order."""
    from hubrerank.evaluation.significance import versus_first_stage

    query_ids, corpus_ids = list(corpus.queries), list(corpus.corpus)
    depth = max(*HIT_KS, NDCG_K)
    outcomes = {
        name: retrieval_metrics(
            {
                qid: [corpus_ids[d] for d in ranking[:depth]]
                for qid, ranking in zip(query_ids, rankings, strict=True)
            },
            corpus.relevant_docs,
            _KS,
        )
        for name, (_, rankings) in pipelines.items()
    }
    base = outcomes[baseline].per_query_ndcg
    results = []
    for name, (stage, _) in pipelines.items():
        outcome = outcomes[name]
        versus = None
        if name != baseline:
            test = versus_first_stage(
                [outcome.per_query_ndcg[q] for q in query_ids], [base[q] for q in query_ids], f"ndcg@{NDCG_K}"
            )
            versus = PairedTest(**test)  # type: ignore[typeddict-item]
        metrics = {f"hit_rate@{k}": outcome.metrics[f"accuracy@{k}"] for k in HIT_KS}
        metrics |= {f"mrr@{k}": outcome.metrics[f"mrr@{k}"] for k in HIT_KS}
        metrics[f"ndcg@{NDCG_K}"] = outcome.metrics[f"ndcg@{NDCG_K}"]
        reranker = request.reranker_label() if name != stage else None
        per_query = {qid: float(value) for qid, value in outcome.per_query_ndcg.items()}
        results.append(PipelineResult(name, stage, reranker, metrics, per_query, versus))
    return results


def pipeline_tables(results: PipelineResults) -> list[Table]:
    """The pipelines side by side (seed 000's columns), and each against the baseline query by query."""
    at = f"@{results.revision[:8]}" if results.revision else ""
    source = f"{results.dataset}{at} {results.config}/{results.split}"
    keys = [f"hit_rate@{k}" for k in HIT_KS] + [f"mrr@{k}" for k in HIT_KS] + [f"ndcg@{NDCG_K}"]
    headers = [f"Hit@{k}" for k in HIT_KS] + [f"MRR@{k}" for k in HIT_KS] + [f"NDCG@{NDCG_K}"]
    side_by_side = Table(
        f"Pipelines {source} ({results.num_queries} queries over {results.corpus_size} documents)",
        headers,
        [(p.name, [p.metrics[key] for key in keys]) for p in results.pipelines],
        "each first stage ranks the whole corpus; a reranker reorders its top "
        f"{results.top_k}; Hit@k and MRR@k are InformationRetrievalEvaluator's accuracy@k and mrr@k",
        row_heading="pipeline",
    )
    tests = [(p.name, p.versus_baseline) for p in results.pipelines if p.versus_baseline is not None]
    if not tests:
        return [side_by_side]
    versus = Table(
        f"Against {results.baseline}, NDCG@{NDCG_K} per query",
        [f"mean change NDCG@{NDCG_K}", "queries better", "queries worse", "queries equal", "p-value"],
        [(name, [v["delta"], v["wins"], v["losses"], v["ties"], v["p_value"]]) for name, v in tests],
        f"p-value: {tests[0][1]['test']}; below 0.05, the change is unlikely to be luck",
        chart=False,
        bold_best=False,
        row_heading="pipeline",
    )
    return [side_by_side, versus]
