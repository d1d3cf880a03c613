"""Retrieval over a whole corpus with a bi-encoder, with exactly InformationRetrievalEvaluator's metrics.

The data is a retrieval-form dataset or a reranking split (docs/contracts.md). The retrieval form
(configs ``corpus``, ``queries``, ``qrels``) gives the corpus whole: every document of the source, for
the queries and relevant documents of one split. In a reranking split, each row is a query whose relevant
documents are its ``positive`` list, and the corpus is every distinct text in the split's ``positive``,
``negative`` and ``documents`` lists (so every query searches all the split's documents, not only its
own). There a document's id is a hash of its text (:func:`~hubrerank.hashing.text_id`), so a text repeated
across rows is one corpus entry. Queries without a positive are left out, as the evaluator leaves them out.

Metrics, as sentence-transformers 6.2's ``InformationRetrievalEvaluator`` computes them (without its
``<similarity>_`` prefix): per query, the corpus ranked by the model's similarity, ties broken by
ascending corpus id; ``accuracy@k`` (hit rate: a relevant document in the top k) and ``mrr@k`` summed
and divided by the number of queries; ``precision@k``, ``recall@k``, ``ndcg@k`` (binary gains) and
``map@k`` (divided by min(k, relevant)) averaged with ``np.mean``.

Embeddings come from :func:`hubrerank.embeddings.encode`, cached by the model's bytes: re-evaluating a
model runs no forward pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

from hubrerank.embeddings import Embedder, EmbeddingCache, encode, load_embedder
from hubrerank.errors import InputError
from hubrerank.evaluation.samples import RerankingData, load_reranking_data, text_id
from hubrerank.kinds.detect import model_kind
from hubrerank.runtime import DEFAULT_BACKEND, FLOAT32, Variant, in_dtype, model_options

ACCURACY_KS = (1, 3, 5, 10)  # the evaluator's defaults for accuracy@k and precision/recall@k
MAP_K = 100


@dataclass(frozen=True)
class RetrievalCorpus:
    """A split as the evaluator takes it: queries (with a positive), the corpus and the relevant ids."""

    queries: dict[str, str]
    corpus: dict[str, str]
    relevant_docs: dict[str, set[str]]
    queries_without_positives: int

    def evaluator_inputs(self) -> dict[str, Any]:
        """Keyword arguments of ``InformationRetrievalEvaluator`` for this corpus."""
        return {"queries": self.queries, "corpus": self.corpus, "relevant_docs": self.relevant_docs}


@dataclass(frozen=True)
class RetrievalOutcome:
    """Mean metrics over the queries, each query's NDCG@k (for a paired test against a baseline) and,
    from :func:`evaluate_retrieval`, each query's retrieved ``(corpus id, similarity)`` list, best first
    (what a TREC run file holds)."""

    metrics: dict[str, float]
    per_query_ndcg: dict[str, float]
    rankings: dict[str, list[tuple[str, float]]] = field(default_factory=dict)


@dataclass(frozen=True)
class RetrievalSplit:
    """A split's queries over its corpus, and where they came from (``revision`` None for local data;
    ``config`` the one read: ``queries`` for the retrieval form)."""

    corpus: RetrievalCorpus
    dataset: str
    revision: str | None
    config: str
    split: str


def load_retrieval_split(
    dataset: str, revision: str | None = None, *, config: str | None = None, split: str = "test"
) -> RetrievalSplit:
    """``split`` of a retrieval-form dataset over its whole corpus, or of a reranking dataset over the
    split's documents (module docstring); ``dataset`` and ``revision`` as
    :func:`~hubrerank.evaluation.samples.load_reranking_data` takes them."""
    from hubrerank.data.forms import CORPUS_SPLIT, RETRIEVAL_CONFIGS
    from hubrerank.hub import load_dataset_split, resolve
    from hubrerank.refs import Ref

    if revision is None and not Path(dataset).exists():
        revision = resolve(Ref(dataset, None, "dataset")).sha
    if config in (None, "queries"):
        layout = retrieval_layout(dataset, revision)
        if layout is not None:
            if split not in layout["queries"]:
                raise InputError(
                    f"{dataset} has no split {split!r}; it has {', '.join(layout['queries'])} (--split)"
                )
            tables = {
                name: load_dataset_split(dataset, name, CORPUS_SPLIT if name == "corpus" else split, revision)
                for name in RETRIEVAL_CONFIGS
            }
            corpus = retrieval_form_corpus(tables["corpus"], tables["queries"], tables["qrels"], dataset)
            return RetrievalSplit(corpus, dataset, revision, "queries", split)
    data = load_reranking_data(dataset, revision, config=config, split=split)
    return RetrievalSplit(retrieval_corpus(data), data.dataset, data.revision, data.config, data.split)


def retrieval_layout(dataset: str, revision: str | None) -> dict[str, list[str]] | None:
    """The configs and splits of ``dataset`` when it is in the retrieval form (configs ``corpus``,
    ``queries`` and ``qrels``), else None; a local file or ``save_to_disk`` folder never is."""
    from hubrerank.data.forms import RETRIEVAL_CONFIGS
    from hubrerank.hub import dataset_layout

    path = Path(dataset)
    if path.is_file() or (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
        return None
    layout = dataset_layout(dataset, revision)
    return layout if set(RETRIEVAL_CONFIGS) <= set(layout) else None


def retrieval_form_corpus(corpus: Any, queries: Any, qrels: Any, source: str) -> RetrievalCorpus:
    """A RetrievalCorpus from the retrieval form's tables (``_id``/``text`` rows and ``query-id``/
    ``corpus-id`` rows); InputError when a qrel names a document the corpus lacks."""
    documents = _texts_by_id(corpus, f"{source} config corpus")
    texts = _texts_by_id(queries, f"{source} config queries")
    _require_columns(qrels, ("query-id", "corpus-id"), f"{source} config qrels")
    grades = qrels["score"] if "score" in qrels.column_names else [1] * len(qrels)
    relevant: dict[str, set[str]] = {}
    for qid, cid, grade in zip(qrels["query-id"], qrels["corpus-id"], grades, strict=True):
        if str(cid) not in documents:
            raise InputError(
                f"{source}: qrels name corpus-id {cid!r}, which the corpus lacks; rebuild the data"
            )
        if isinstance(grade, (int, float)) and grade <= 0:
            continue  # a judged non-relevant document (BEIR's score 0), as MTEB reads qrels
        if str(qid) in texts:
            relevant.setdefault(str(qid), set()).add(str(cid))
    if not relevant:
        raise InputError(f"{source} has no query with a relevant document in this split")
    without = sum(qid not in relevant for qid in texts)
    return RetrievalCorpus({qid: texts[qid] for qid in relevant}, documents, relevant, without)


def _require_columns(table: Any, columns: tuple[str, ...], where: str) -> None:
    missing = [name for name in columns if name not in table.column_names]
    if missing:
        raise InputError(
            f"{where} lacks column(s) {', '.join(missing)} (has {', '.join(table.column_names) or 'none'}); "
            "the retrieval form is corpus/queries (_id, text) and qrels (query-id, corpus-id, score)"
        )


def _texts_by_id(table: Any, where: str) -> dict[str, str]:
    """``{_id: text}`` of a corpus or queries table; InputError on a missing column, a text that is
    not a string (null) or an ``_id`` given twice."""
    _require_columns(table, ("_id", "text"), where)
    texts: dict[str, str] = {}
    for key, text in zip(table["_id"], table["text"], strict=True):
        if not isinstance(text, str):
            raise InputError(f"{where}: _id {key!r} has text {text!r}, not a string; fill it or drop the row")
        if str(key) in texts:
            raise InputError(f"{where}: _id {key!r} occurs twice; give each row its own _id")
        texts[str(key)] = text
    return texts


def retrieval_corpus(data: RerankingData) -> RetrievalCorpus:
    """The queries, corpus and relevance of a reranking split (module docstring)."""
    queries: dict[str, str] = {}
    corpus: dict[str, str] = {}
    relevant: dict[str, set[str]] = {}
    skipped = 0
    for row in data.rows:
        for text in (*row.positive, *row.negative, *row.documents):
            corpus.setdefault(text_id(text), text)
        if not row.positive:
            skipped += 1
            continue
        if row.query_id in queries:
            raise InputError(f"{data.dataset} split {data.split}: query_id {row.query_id!r} occurs twice")
        queries[row.query_id] = row.query
        relevant[row.query_id] = {text_id(text) for text in row.positive}
    if not queries:
        raise InputError(f"{data.dataset} split {data.split} has no query with a positive document")
    return RetrievalCorpus(queries, corpus, relevant, skipped)


def evaluator_ks(at_k: int) -> dict[str, list[int]]:
    """The cutoffs hubrerank asks of the evaluator: its defaults, with ``at_k`` for MRR and NDCG."""
    ks = sorted({*ACCURACY_KS, at_k})
    return {
        "accuracy_at_k": ks,
        "precision_recall_at_k": ks,
        "mrr_at_k": [at_k],
        "ndcg_at_k": [at_k],
        "map_at_k": [MAP_K],
    }


@dataclass
class EncoderRetriever:
    """A loaded retriever that sentence-transformers encodes and scores itself (a ``SparseEncoder`` or a
    ``MultiVectorEncoder``), the folder it came from, and how it encodes (batch size, progress bar, the
    dtype it runs in and its scheme). It stands in for the model in sentence-transformers' evaluators:
    every other attribute is the model's own."""

    KIND: ClassVar[str]  # the kind detect.model_kind names
    NAME: ClassVar[str]  # what messages call it
    MODEL_CLASS: ClassVar[str]  # the sentence-transformers class that loads it

    model: Any
    path: Path
    batch_size: int = 32
    progress: bool = False
    dtype: str = FLOAT32.dtype
    scheme: str | None = None  # how a half dtype runs (hubrerank.runtime.SCHEMES)

    @property
    def similarity_fn_name(self) -> str:
        """The model's similarity (``dot`` for SPLADE, ``maxsim``), the prefix of the evaluator's metrics."""
        return str(self.model.similarity_fn_name)

    def __getattr__(self, name: str) -> Any:
        # "model" itself is absent only while a copy is being built, and must not recurse
        if name == "model":
            raise AttributeError(name)
        return getattr(self.model, name)


R = TypeVar("R", bound=EncoderRetriever)


def load_encoder_retriever(
    path: Path,
    retriever: type[R],
    *,
    batch_size: int = 32,
    progress: bool = False,
    trust_remote_code: bool = False,
    precision: Variant = FLOAT32,
) -> R:
    """The model of ``retriever``'s kind (its ``KIND``, loaded by sentence-transformers' ``MODEL_CLASS``)
    from a local folder in ``precision``, on torch; InputError unless the folder holds one."""
    import sentence_transformers

    kind = model_kind(path)
    if kind != retriever.KIND:
        raise InputError(f"{path} is a {kind} model, not a {retriever.NAME} ({retriever.MODEL_CLASS})")
    if precision.backend != DEFAULT_BACKEND:
        raise InputError(f"{path}: a {retriever.NAME} runs on torch here; drop --backend {precision.backend}")
    model = getattr(sentence_transformers, retriever.MODEL_CLASS)(
        str(path), trust_remote_code=trust_remote_code, local_files_only=True, **model_options(precision)
    )
    in_dtype(model, precision)
    return retriever(model, path, batch_size, progress, precision.dtype, precision.scheme)


def load_bi_encoder(
    path: Path,
    cache: EmbeddingCache | None = None,
    *,
    batch_size: int = 32,
    progress: bool = False,
    trust_remote_code: bool = False,
    precision: Variant = FLOAT32,
) -> Embedder:
    """A SentenceTransformer from a local folder in ``precision``, embedding through ``cache``; InputError
    unless the folder holds a bi-encoder."""
    kind = model_kind(path)
    if kind != "bi-encoder":
        raise InputError(f"{path} is a {kind} model; retrieval needs a bi-encoder (SentenceTransformer)")
    return load_embedder(
        path,
        cache,
        batch_size=batch_size,
        progress=progress,
        precision=precision,
        trust_remote_code=trust_remote_code,
    )


def rank_positions(scores: np.ndarray, corpus_ids: list[str], depth: int | None = None) -> list[list[int]]:
    """Each row of a (queries, corpus) score matrix as corpus positions, best first, ties by ascending
    corpus id (as the evaluator breaks them), cut at ``depth`` (None: the whole corpus)."""
    id_order = np.empty(len(corpus_ids), dtype=np.int64)
    id_order[np.argsort(np.array(corpus_ids, dtype=object), kind="stable")] = np.arange(len(corpus_ids))
    return [np.lexsort((id_order, -row))[:depth].tolist() for row in np.asarray(scores, dtype=np.float64)]


def similarity_matrix(embedder: Embedder, corpus: RetrievalCorpus) -> np.ndarray:
    """The bi-encoder's similarity of every query (rows, in ``corpus.queries`` order) to every document
    (columns, in ``corpus.corpus`` order); each text is embedded once, through the embedding cache."""
    import torch

    queries = encode(embedder, list(corpus.queries.values()), "query")
    documents = encode(embedder, list(corpus.corpus.values()), "document")
    similarity = embedder.model.similarity(torch.from_numpy(queries), torch.from_numpy(documents))
    return similarity.cpu().numpy()


def evaluate_retrieval(embedder: Embedder, corpus: RetrievalCorpus, at_k: int) -> RetrievalOutcome:
    """Rank the whole corpus for every query with the bi-encoder of ``embedder`` and measure it; the
    outcome keeps each query's top ``max(100, at_k)`` with its similarities (the depth MAP@100 needs)."""
    return scored_outcome(similarity_matrix(embedder, corpus), corpus, at_k)


def scored_outcome(scores: np.ndarray, corpus: RetrievalCorpus, at_k: int) -> RetrievalOutcome:
    """The evaluator's metrics of a (queries, corpus) score matrix, each query's top ``max(100, at_k)``
    kept with its scores: what every retriever kind's evaluation ends with."""
    ks = evaluator_ks(at_k)
    depth = max(max(values) for values in ks.values())
    corpus_ids = list(corpus.corpus)
    rankings = {
        qid: [(corpus_ids[index], float(scores[row, index])) for index in positions]
        for row, (qid, positions) in enumerate(
            zip(corpus.queries, rank_positions(scores, corpus_ids, depth), strict=True)
        )
    }
    ranked = {qid: [doc for doc, _ in ranking] for qid, ranking in rankings.items()}
    return replace(retrieval_metrics(ranked, corpus.relevant_docs, ks), rankings=rankings)


def retrieval_metrics(
    rankings: Mapping[str, list[str]], relevant_docs: Mapping[str, set[str]], ks: Mapping[str, list[int]]
) -> RetrievalOutcome:
    """The evaluator's ``compute_metrics`` over ranked corpus ids (best first), one list per query."""
    hits = {k: 0 for k in ks["accuracy_at_k"]}
    precision: dict[int, list[float]] = {k: [] for k in ks["precision_recall_at_k"]}
    recall: dict[int, list[float]] = {k: [] for k in ks["precision_recall_at_k"]}
    mrr = {k: 0.0 for k in ks["mrr_at_k"]}
    ndcg: dict[int, list[float]] = {k: [] for k in ks["ndcg_at_k"]}
    average_precision: dict[int, list[float]] = {k: [] for k in ks["map_at_k"]}
    per_query: dict[str, float] = {}
    for qid, ranking in rankings.items():
        relevant = relevant_docs[qid]
        flags = [doc in relevant for doc in ranking]
        for k in hits:
            hits[k] += any(flags[:k])
        for k in precision:
            correct = sum(flags[:k])
            precision[k].append(correct / k)
            recall[k].append(correct / len(relevant))
        for k in mrr:
            first = next((rank for rank, flag in enumerate(flags[:k]) if flag), None)
            mrr[k] += 0.0 if first is None else 1.0 / (first + 1)
        for k in ndcg:
            value = _dcg([int(flag) for flag in flags[:k]], k) / _dcg([1] * len(relevant), k)
            ndcg[k].append(value)
            per_query[qid] = value
        for k in average_precision:
            correct, total = 0, 0.0
            for rank, flag in enumerate(flags[:k]):
                if flag:
                    correct += 1
                    total += correct / (rank + 1)
            average_precision[k].append(total / min(k, len(relevant)))
    count = len(rankings)
    metrics: dict[str, float] = {}
    metrics |= {f"accuracy@{k}": hits[k] / count for k in hits}
    for k in precision:
        metrics[f"precision@{k}"] = float(np.mean(precision[k]))
        metrics[f"recall@{k}"] = float(np.mean(recall[k]))
    metrics |= {f"mrr@{k}": mrr[k] / count for k in mrr}
    metrics |= {f"ndcg@{k}": float(np.mean(ndcg[k])) for k in ndcg}
    metrics |= {f"map@{k}": float(np.mean(average_precision[k])) for k in average_precision}
    return RetrievalOutcome(metrics, per_query)


def retrieval_result(
    task: Mapping[str, Any], data: RetrievalSplit, outcome: RetrievalOutcome
) -> dict[str, Any]:
    """One retrieval entry of eval_results.json."""
    return {
        "task": "retrieval",
        "dataset": data.dataset,
        "revision": data.revision,
        "config": data.config,
        "split": data.split,
        "at_k": task["at_k"],
        "num_queries": len(data.corpus.queries),
        "queries_without_positives": data.corpus.queries_without_positives,
        "corpus_size": len(data.corpus.corpus),
        "metrics": outcome.metrics,
    }


def retrieval_headline(result: Mapping[str, Any]) -> str:
    """One line of a retrieval result: NDCG@k and the hit rates at 1 and 10."""
    metrics, at_k = result["metrics"], result["at_k"]
    return (
        f"{result['dataset']}:{result['split']} retrieval over {result['corpus_size']} documents, "
        f"{result['num_queries']} queries: ndcg@{at_k} {metrics[f'ndcg@{at_k}']:.4f}  "
        f"hit@1 {metrics['accuracy@1']:.4f}  hit@10 {metrics['accuracy@10']:.4f}"
    )


def _dcg(relevances: list[int], k: int) -> float:
    """The evaluator's ``compute_dcg_at_k``: binary gains over log2(rank + 1)."""
    dcg = 0.0
    for index in range(min(len(relevances), k)):
        dcg += relevances[index] / np.log2(index + 2)
    return dcg
