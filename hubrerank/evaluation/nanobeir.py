"""NanoBEIR on a dataset pinned to a revision: reranking as CrossEncoderNanoBEIREvaluator measures it for a
cross-encoder (under either metric definition), retrieval through NanoBEIREvaluator for a bi-encoder (the
kind names its evaluator, ``KindSpec.nanobeir_evaluator``).

The datasets are downloaded at their commit sha and read from the local folder (the evaluators have no
``revision`` argument, ../notes/anchors.md §1.6). The reranker reranks the BM25 top ``rerank_k`` of each
subset, with the positives BM25 missed injected unless ``always_rerank_positives`` is false; the retriever
searches each subset's whole corpus. Either "mean" covers only the subsets asked for: the result records
that list next to the mean.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hubrerank.embeddings import Embedder
from hubrerank.errors import InputError
from hubrerank.evaluation.definitions import DEFINITIONS, installed_definition, other_definitions
from hubrerank.evaluation.metrics import candidates, evaluate_rows
from hubrerank.evaluation.multi_vector_retrieval import MultiVectorRetriever
from hubrerank.evaluation.samples import RerankingRow
from hubrerank.evaluation.scoring import Scorer
from hubrerank.evaluation.sparse_retrieval import SparseRetriever
from hubrerank.hub import locate, resolve
from hubrerank.kinds.spec import get_kind
from hubrerank.refs import Ref

Ranking = list[tuple[str, float]]
DEFAULT_DATASET = "sentence-transformers/NanoBEIR-en"
DEFAULT_SUBSETS = ("msmarco", "nfcorpus", "nq")
CONFIGS = ("corpus", "queries", "qrels", "bm25")
RETRIEVAL_CONFIGS = ("corpus", "queries", "qrels")  # a retriever searches the corpus: no BM25 lists


def resolve_nanobeir(text: str) -> tuple[str, str | None]:
    """``DATASET_ID[@REV]`` as (dataset id, sha), or a local folder as (path, None)."""
    located = locate(text, "dataset", folder_only=True)
    return located.name, located.sha


def evaluate_nanobeir(
    scorer: Scorer,
    dataset: str = DEFAULT_DATASET,
    revision: str | None = None,
    subsets: Sequence[str] = DEFAULT_SUBSETS,
    *,
    rerank_k: int = 100,
    at_k: int = 10,
    always_rerank_positives: bool = True,
    rankings: dict[str, Ranking] | None = None,
    metric_definition: str | None = None,
) -> dict[str, Any]:
    """CrossEncoderNanoBEIREvaluator's metrics for ``subsets`` of ``dataset`` at ``revision`` (a sha; None =
    ``main``, resolved and recorded) under ``metric_definition`` (None: the installed
    sentence-transformers'); the eval_results.json entry of task ``nanobeir``.

    The evaluator reranks each query's BM25 top ``rerank_k`` (with the positives BM25 missed injected when
    ``always_rerank_positives``) and averages each metric over the subsets. hubrerank builds the same lists
    from the same tables and measures them with :mod:`hubrerank.evaluation.metrics`, so the numbers are
    the evaluator's under either definition whichever release is installed; the metrics the other
    definition gives differently go to ``other_definitions``. With ``rankings``, the reranked lists are
    added to it for a TREC run file, query ids ``Nano{Name}:{query-id}`` and documents by corpus ``_id``.
    """
    definition = metric_definition or installed_definition()
    folder, revision = nanobeir_folder(dataset, revision, subsets)
    by_definition: dict[str, dict[str, float]] = {name: {} for name in DEFINITIONS}
    per_metric: dict[str, dict[str, list[float]]] = {name: {} for name in DEFINITIONS}
    setting = "" if always_rerank_positives else "realistic_"
    scored: dict[tuple[str, str], float] = {}  # every pair the metrics scored: the run lists reuse them

    def score(pairs: list[tuple[str, str]]) -> np.ndarray:
        values = scorer.predict(pairs)
        scored.update(zip(pairs, values.tolist(), strict=True))
        return values

    for subset in subsets:
        rows, ids = nanobeir_rows(folder, subset, rerank_k)
        name = f"{subset_split(subset)}_R{rerank_k}"
        outcome = evaluate_rows(rows, score, at_k, definition)
        for definition_name in DEFINITIONS:
            values = outcome.metrics | outcome.other_definitions.get(definition_name, {})
            for metric in _evaluator_metrics(at_k):
                value = values[metric if metric.startswith("base_") else setting + metric]
                by_definition[definition_name][f"{name}_{metric}"] = value
                per_metric[definition_name].setdefault(metric, []).append(value)
        if rankings is not None:
            rankings.update(_reranked_lists(scored, rows, ids, setting))
    for definition_name, metrics in per_metric.items():
        for metric, values in metrics.items():
            by_definition[definition_name][f"NanoBEIR_R{rerank_k}_mean_{metric}"] = float(np.mean(values))
    metrics = by_definition[definition]
    result: dict[str, Any] = {
        "task": "nanobeir",
        "dataset": dataset,
        "revision": revision,
        "datasets": list(subsets),
        "rerank_k": rerank_k,
        "at_k": at_k,
    }
    if not always_rerank_positives:
        result["always_rerank_positives"] = False
    result["metric_definition"] = definition
    result["metrics"] = metrics
    others = other_definitions(by_definition, definition)
    if others:
        result["other_definitions"] = others
    return result


def _evaluator_metrics(at_k: int) -> tuple[str, ...]:
    """The metrics CrossEncoderRerankingEvaluator reports for each subset, in its order."""
    return ("map", f"mrr@{at_k}", f"ndcg@{at_k}", "base_map", f"base_mrr@{at_k}", f"base_ndcg@{at_k}")


def subset_split(subset: str) -> str:
    """A subset's split name, as the evaluator names it (``msmarco`` -> ``NanoMSMARCO``)."""
    from sentence_transformers.cross_encoder.evaluation.nano_beir import DATASET_NAME_TO_HUMAN_READABLE

    return f"Nano{DATASET_NAME_TO_HUMAN_READABLE[subset.lower()]}"


def nanobeir_rows(folder: Path, subset: str, rerank_k: int) -> tuple[list[RerankingRow], dict[str, str]]:
    """One subset's queries as CrossEncoderNanoBEIREvaluator builds its samples (``_load_dataset``): one per
    ``bm25`` row, ``positive`` the texts of the query's qrels, ``documents`` the texts of its BM25 top
    ``rerank_k``; and every document text's corpus ``_id``. Query ids are ``Nano{Name}:{query-id}``."""
    import datasets

    split = subset_split(subset)
    tables = {config: datasets.load_dataset(str(folder), config, split=split) for config in CONFIGS}
    corpus = dict(zip(tables["corpus"]["_id"], tables["corpus"]["text"], strict=True))
    queries = dict(zip(tables["queries"]["_id"], tables["queries"]["text"], strict=True))
    relevant: dict[str, list[str]] = {}
    for row in tables["qrels"]:
        ids = row["corpus-id"] if isinstance(row["corpus-id"], list) else [row["corpus-id"]]
        relevant.setdefault(row["query-id"], []).extend(ids)
    rows = []
    for row in tables["bm25"]:
        query_id = row["query-id"]
        if query_id not in relevant:
            raise InputError(f"NanoBEIR {split}: query {query_id} has a BM25 list but no qrels")
        top = list(row["corpus-ids"][:rerank_k])
        rows.append(
            RerankingRow(
                query_id=f"{split}:{query_id}",
                query=queries[query_id],
                positive=[corpus[doc] for doc in dict.fromkeys(relevant[query_id])],
                documents=[corpus[doc] for doc in top],
                document_ids=[str(doc) for doc in top],
            )
        )
    return rows, {text: str(doc) for doc, text in corpus.items()}


def _reranked_lists(
    scored: dict[tuple[str, str], float], rows: Sequence[RerankingRow], ids: dict[str, str], setting: str
) -> dict[str, Ranking]:
    """Each row's list in ``setting`` with the model's scores the metrics just computed (``scored``), best
    first, documents by corpus ``_id``."""
    lists: dict[str, Ranking] = {}
    for row in rows:
        found = candidates(row, setting)
        if found is None or not found.scored:
            continue
        scores = [scored[(row.query, doc)] for doc in found.documents]
        ranked = sorted(zip(found.documents, scores, strict=True), key=lambda pair: -pair[1])
        lists[row.query_id] = [(ids[doc], score) for doc, score in ranked]
    return lists


def evaluate_nanobeir_retrieval(
    embedder: Embedder | SparseRetriever | MultiVectorRetriever,
    dataset: str = DEFAULT_DATASET,
    revision: str | None = None,
    subsets: Sequence[str] = DEFAULT_SUBSETS,
    *,
    at_k: int = 10,
    rankings: dict[str, Ranking] | None = None,
    kind_name: str = "bi-encoder",
) -> dict[str, Any]:
    """Run the NanoBEIR retrieval evaluator of kind ``kind_name`` (NanoBEIREvaluator with a bi-encoder,
    its embeddings through the cache of ``embedder``; SparseNanoBEIREvaluator with a sparse encoder,
    MultiVectorNanoBEIREvaluator with a multi-vector encoder) on
    ``subsets`` of ``dataset`` at ``revision`` (a sha; None = ``main``, resolved and recorded); return the
    eval_results.json entry of task ``nanobeir-retrieval``.

    Its metrics are the evaluator's keys as is (``NanoMSMARCO_cosine_ndcg@10``,
    ``NanoBEIR_mean_cosine_ndcg@10``, a sparse encoder's ``NanoBEIR_mean_dot_ndcg@10`` and
    ``NanoBEIR_mean_query_active_dims``, ...); ``similarity`` records the model's similarity function they
    carry. With ``rankings``, each query's top 100 as the evaluator ranked it (its predictions) is added
    for a TREC run file, with the query ids of :func:`evaluate_nanobeir`'s lists.
    """
    kind = get_kind(kind_name)
    folder, revision = nanobeir_folder(dataset, revision, subsets, RETRIEVAL_CONFIGS)
    with tempfile.TemporaryDirectory(prefix="hubrerank-nanobeir-") as predictions:
        evaluator = kind.load("nanobeir_evaluator")(
            dataset_names=list(subsets),
            dataset_id=str(folder),
            mrr_at_k=[at_k],
            ndcg_at_k=[at_k],
            batch_size=embedder.batch_size,
            write_csv=False,
            write_predictions=rankings is not None,
        )
        metrics = evaluator(embedder, output_path=predictions if rankings is not None else None)
        if rankings is not None:
            rankings.update(_predictions(evaluator, Path(predictions), embedder.similarity_fn_name))
    return {
        "task": kind.nanobeir_task,
        "dataset": dataset,
        "revision": revision,
        "datasets": list(subsets),
        "at_k": at_k,
        "similarity": embedder.similarity_fn_name,
        "metrics": {key: float(value) for key, value in metrics.items()},
    }


def _predictions(evaluator: Any, folder: Path, similarity: str) -> dict[str, Ranking]:
    """The run lists of the prediction files NanoBEIREvaluator's per-subset evaluators wrote into
    ``folder`` (one JSONL per subset and similarity), keyed ``Nano{Name}:{query-id}``."""
    rankings: dict[str, Ranking] = {}
    for subset in evaluator.evaluators:
        path = folder / subset.predictions_file.replace(".jsonl", f"_{similarity}.jsonl")
        for line in path.read_text(encoding="utf-8").splitlines():
            prediction = json.loads(line)
            rankings[f"{subset.name}:{prediction['query_id']}"] = [
                (hit["corpus_id"], float(hit["score"])) for hit in prediction["results"]
            ]
    return rankings


def check_nanobeir(
    folder: Path, dataset: str, subsets: Sequence[str], configs: Sequence[str] = CONFIGS
) -> None:
    """Raise InputError unless ``folder`` has the NanoBEIR ``configs``, each with a split per subset."""
    import datasets
    from sentence_transformers.cross_encoder.evaluation.nano_beir import DATASET_NAME_TO_HUMAN_READABLE

    unknown = [name for name in subsets if name.lower() not in DATASET_NAME_TO_HUMAN_READABLE]
    if unknown or not subsets:
        raise InputError(
            f"unknown NanoBEIR subset(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(DATASET_NAME_TO_HUMAN_READABLE)} (--nanobeir-datasets)"
        )
    present = datasets.get_dataset_config_names(str(folder))
    missing = [name for name in configs if name not in present]
    if missing:
        raise InputError(
            f"{dataset} is not a NanoBEIR dataset: it lacks the config(s) {', '.join(missing)} "
            f"(needs {', '.join(configs)}, each with splits Nano{{Name}})"
        )
    wanted = [f"Nano{DATASET_NAME_TO_HUMAN_READABLE[name.lower()]}" for name in subsets]
    for config in configs:
        splits = datasets.get_dataset_split_names(str(folder), config)
        absent = [split for split in wanted if split not in splits]
        if absent:
            raise InputError(
                f"{dataset} config {config!r} has no split {absent[0]}; it has {', '.join(splits)} "
                "(--nanobeir-datasets)"
            )


def nanobeir_folder(
    dataset: str, revision: str | None, subsets: Sequence[str], configs: Sequence[str] = CONFIGS
) -> tuple[Path, str | None]:
    """The local folder of ``dataset`` at ``revision`` (downloaded at its sha), checked by
    :func:`check_nanobeir` for ``configs``, and the sha (None for a local folder)."""
    from hubrerank.hub import download

    if Path(dataset).is_dir():
        folder, sha = Path(dataset), None
    else:
        ref = resolve(Ref(dataset, revision, "dataset"))
        folder, sha = download(ref), ref.sha
    check_nanobeir(folder, dataset, subsets, configs)
    return folder, sha
