"""NanoBEIR reranking through CrossEncoderNanoBEIREvaluator, on a dataset pinned to a revision.

The evaluator has no ``revision`` argument, but accepts a local folder as ``dataset_id``: so the dataset
is downloaded at its commit sha and the folder is passed instead (../notes/anchors.md §1.6). It reranks
the BM25 top ``rerank_k`` of each subset with all positives injected, and its "mean" covers only the
subsets asked for: the result records that list next to the mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hubrerank.errors import InputError
from hubrerank.evaluation.scoring import Scorer
from hubrerank.hub import locate, resolve
from hubrerank.refs import Ref

Ranking = list[tuple[str, float]]
DEFAULT_DATASET = "sentence-transformers/NanoBEIR-en"
DEFAULT_SUBSETS = ("msmarco", "nfcorpus", "nq")
CONFIGS = ("corpus", "queries", "qrels", "bm25")


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
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderNanoBEIREvaluator

    folder, revision = nanobeir_folder(dataset, revision, subsets)
    evaluator = CrossEncoderNanoBEIREvaluator(
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


def check_nanobeir(folder: Path, dataset: str, subsets: Sequence[str]) -> None:
    """Raise InputError unless ``folder`` has the four NanoBEIR configs, each with a split per subset."""
    import datasets
    from sentence_transformers.cross_encoder.evaluation.nano_beir import DATASET_NAME_TO_HUMAN_READABLE

    unknown = [name for name in subsets if name.lower() not in DATASET_NAME_TO_HUMAN_READABLE]
    if unknown or not subsets:
        raise InputError(
            f"unknown NanoBEIR subset(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(DATASET_NAME_TO_HUMAN_READABLE)} (--nanobeir-datasets)"
        )
    configs = datasets.get_dataset_config_names(str(folder))
    missing = [name for name in CONFIGS if name not in configs]
    if missing:
        raise InputError(
            f"{dataset} is not a NanoBEIR dataset: it lacks the config(s) {', '.join(missing)} "
            f"(needs {', '.join(CONFIGS)}, each with splits Nano{{Name}})"
        )
    wanted = [f"Nano{DATASET_NAME_TO_HUMAN_READABLE[name.lower()]}" for name in subsets]
    for config in CONFIGS:
        splits = datasets.get_dataset_split_names(str(folder), config)
        absent = [split for split in wanted if split not in splits]
        if absent:
            raise InputError(
                f"{dataset} config {config!r} has no split {absent[0]}; it has {', '.join(splits)} "
                "(--nanobeir-datasets)"
            )


def nanobeir_folder(dataset: str, revision: str | None, subsets: Sequence[str]) -> tuple[Path, str | None]:
    """The local folder of ``dataset`` at ``revision`` (downloaded at its sha), checked by
    :func:`check_nanobeir`, and the sha (None for a local folder)."""
    from hubrerank.hub import download

    if Path(dataset).is_dir():
        folder, sha = Path(dataset), None
    else:
        ref = resolve(Ref(dataset, revision, "dataset"))
        folder, sha = download(ref), ref.sha
    check_nanobeir(folder, dataset, subsets)
    return folder, sha
