"""NanoBEIR on a dataset pinned to a revision: reranking through CrossEncoderNanoBEIREvaluator for a
cross-encoder, retrieval through NanoBEIREvaluator for a bi-encoder (the kind names its evaluator,
``KindSpec.nanobeir_evaluator``).

The evaluators have no ``revision`` argument, but accept a local folder as ``dataset_id``: so the dataset
is downloaded at its commit sha and the folder is passed instead (../notes/anchors.md §1.6). The
reranker reranks the BM25 top ``rerank_k`` of each subset with all positives injected; the retriever
searches each subset's whole corpus. Either "mean" covers only the subsets asked for: the result records
that list next to the mean.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hubrerank.embeddings import Embedder
from hubrerank.errors import InputError
from hubrerank.evaluation.scoring import Scorer
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
    rankings: dict[str, Ranking] | None = None,
) -> dict[str, Any]:
    """Run the NanoBEIR evaluator on ``subsets`` of ``dataset`` at ``revision`` (a sha; None = ``main``,
    resolved and recorded) and return the eval_results.json entry of task ``nanobeir``.

    With ``rankings``, the lists the evaluator reranked are added to it for a TREC run file: see
    :func:`nanobeir_rankings` for the query-id scheme.
    """
    folder, revision = nanobeir_folder(dataset, revision, subsets)
    evaluator = get_kind("cross-encoder").load("nanobeir_evaluator")(
        dataset_names=list(subsets),
        dataset_id=str(folder),
        rerank_k=rerank_k,
        at_k=at_k,
        write_csv=False,
    )
    metrics = evaluator(scorer)
    if rankings is not None:
        rankings.update(nanobeir_rankings(scorer, folder, subsets, rerank_k))
    return {
        "task": "nanobeir",
        "dataset": dataset,
        "revision": revision,
        "datasets": list(subsets),
        "rerank_k": rerank_k,
        "at_k": at_k,
        "metrics": {key: float(value) for key, value in metrics.items()},
    }


def evaluate_nanobeir_retrieval(
    embedder: Embedder,
    dataset: str = DEFAULT_DATASET,
    revision: str | None = None,
    subsets: Sequence[str] = DEFAULT_SUBSETS,
    *,
    at_k: int = 10,
    rankings: dict[str, Ranking] | None = None,
) -> dict[str, Any]:
    """Run NanoBEIREvaluator with a bi-encoder (its embeddings through the cache of ``embedder``) on
    ``subsets`` of ``dataset`` at ``revision`` (a sha; None = ``main``, resolved and recorded); return the
    eval_results.json entry of task ``nanobeir-retrieval``.

    Its metrics are the evaluator's keys as is (``NanoMSMARCO_cosine_ndcg@10``,
    ``NanoBEIR_mean_cosine_ndcg@10``, ...); ``similarity`` records the model's similarity function they
    carry. With ``rankings``, each query's top 100 as the evaluator ranked it (its predictions) is added
    for a TREC run file, with the query ids of :func:`nanobeir_rankings`.
    """
    kind = get_kind("bi-encoder")
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


def nanobeir_rankings(
    scorer: Scorer, folder: Path, subsets: Sequence[str], rerank_k: int
) -> dict[str, Ranking]:
    """What the NanoBEIR evaluator reranks, as TREC run lists: for each query of each subset, its BM25
    top ``rerank_k`` plus any relevant document BM25 missed (the evaluator injects them), scored by the
    model and sorted best first, documents by their corpus ``_id``.

    Query ids are ``Nano{Name}:{query-id}`` (``NanoMSMARCO:1002``), so one run file holds every subset
    and matches qrels written with the same prefix. The pairs were just scored by the evaluator, so with
    a score cache nothing is scored twice.
    """
    import datasets
    from sentence_transformers.cross_encoder.evaluation.nano_beir import DATASET_NAME_TO_HUMAN_READABLE

    rankings: dict[str, Ranking] = {}
    for name in subsets:
        split = f"Nano{DATASET_NAME_TO_HUMAN_READABLE[name.lower()]}"
        tables = {
            config: datasets.load_dataset(str(folder), config, split=split).to_list()
            for config in ("corpus", "queries", "qrels", "bm25")
        }
        corpus = {row["_id"]: row["text"] for row in tables["corpus"]}
        queries = {row["_id"]: row["text"] for row in tables["queries"]}
        relevant: dict[str, list[str]] = {}
        for row in tables["qrels"]:
            ids = row["corpus-id"] if isinstance(row["corpus-id"], list) else [row["corpus-id"]]
            relevant.setdefault(row["query-id"], []).extend(ids)
        for row in tables["bm25"]:
            query_id = row["query-id"]
            candidates = list(row["corpus-ids"][:rerank_k])
            candidates += [doc for doc in dict.fromkeys(relevant.get(query_id, [])) if doc not in candidates]
            scores = scorer.predict([(queries[query_id], corpus[doc]) for doc in candidates])
            ranked = sorted(zip(candidates, scores.tolist(), strict=True), key=lambda pair: -pair[1])
            rankings[f"{split}:{query_id}"] = ranked
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
