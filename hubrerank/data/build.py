"""Build a reranker dataset from a source: read, normalise, split, mine negatives, rank first-stage
candidates, score with a teacher, into a :class:`BuiltData` that :mod:`hubrerank.data.output` writes to a
folder or publishes in one commit. What a build is asked (:class:`~hubrerank.data.build_options.BuildOptions`,
checked before any work) is :mod:`hubrerank.data.build_options`'s.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from hubrerank import __version__
from hubrerank.cards.dataset_card import dataset_configs, retrieval_configs
from hubrerank.data import candidates as first_stage
from hubrerank.data import forms
from hubrerank.data.build_options import BuildOptions, check_options, rebuild_command
from hubrerank.data.mining import Mined, mine_with_bm25, mine_with_model, random_negatives
from hubrerank.data.models import ModelSource, require_sentence_transformer, resolve_model_source
from hubrerank.data.normalize import Collection, normalize
from hubrerank.data.retrieval import Bm25Index
from hubrerank.data.sources import ColumnHints, SourceData, read_source
from hubrerank.data.splits import SPLITS, assign_splits
from hubrerank.data.stats import distribution, table_statistics
from hubrerank.data.validate import validate_tables
from hubrerank.embeddings import Embedder, EmbeddingCache, encode, load_embedder
from hubrerank.environment import DATA_LIBRARIES, installed_versions
from hubrerank.errors import InputError
from hubrerank.kinds.detect import model_kind
from hubrerank.runtime import DEFAULT_DTYPE


@dataclass
class BuiltData:
    """A built dataset in memory: split tables, metadata (without the rebuild command) and card samples."""

    tables: dict[str, pa.Table]
    metadata: dict[str, Any]
    options: BuildOptions

    def command(self, push: str | None = None, out: str | None = None) -> str:
        """The exact ``hubrerank data build`` command that rebuilds this dataset (shas, no local paths)."""
        return rebuild_command(self.metadata, self.options, push=push, out=out)


Log = Callable[[str], None]


def build_dataset(source: str, options: BuildOptions, log: Log = lambda _: None) -> BuiltData:
    """Read ``source`` and build the train/eval/test tables and their metadata."""
    check_options(options)
    data = read_source(
        source,
        format=options.format,
        config=options.config,
        splits=options.split or None,
        hints=ColumnHints(options.query_column, options.answer_column, options.label_column),
    )
    log(f"read {data.judgments.num_rows} rows from {data.name} ({data.format})")
    collection = normalize(data)
    _check_source_scores(collection, data, options, log)
    dropped = dict(collection.dropped)
    split_of, origin = assign_splits(
        collection.query_splits, options.test_size, options.eval_size, options.seed
    )
    positives, judged_negatives = _judged(collection, options.positive_threshold)
    by_split = {name: [q for q, s in enumerate(split_of) if s == name] for name in SPLITS}
    evaluated = [q for name in ("eval", "test") for q in by_split[name]]
    without_positive = [q for q in evaluated if not positives.get(q)]
    if without_positive:
        dropped["eval_test_queries_without_positive"] = len(without_positive)
        missing = set(without_positive)
        for name in ("eval", "test"):
            by_split[name] = [q for q in by_split[name] if q not in missing]
        evaluated = [q for q in evaluated if q not in missing]
    log(
        f"{collection.num_queries} queries, {len(collection.corpus)} documents; "
        + ", ".join(f"{name} {len(by_split[name])}" for name in SPLITS if by_split[name])
    )
    if options.output_format == forms.RETRIEVAL_FORM:
        return _retrieval_data(
            data, collection, by_split, positives, judged_negatives, options, origin, dropped
        )

    files = options.precision.files
    mining_model = resolve_model_source(options.mine_model, files) if options.mine_model else None
    kind = options.first_stage or (
        "source" if collection.ranking else "embedding" if mining_model is not None else "bm25"
    )
    if kind == "source" and not collection.ranking:
        raise InputError(
            f"--first-stage source: {data.name} has no ranking (no run file); use embedding or bm25"
        )
    mined, extra, ranked = _negatives_and_candidates(
        collection, by_split, evaluated, positives, judged_negatives, mining_model, kind, options, log
    )
    if evaluated and options.candidates:
        log(f"first stage: {kind} top-{options.candidates}")

    binary = data.format == "beir"
    splits = {
        name: _split_docs(
            by_split[name], positives, judged_negatives, mined, extra, collection, options, binary
        )
        for name in SPLITS
        if by_split[name]
    }
    for name in ("eval", "test"):
        if name in splits:
            splits[name].candidates = [ranked.get(q, []) for q in splits[name].queries]
    teacher = resolve_model_source(options.teacher, files) if options.teacher else None
    if teacher is not None and "train" in splits:
        _score_with_teacher(splits["train"], teacher, collection, options, log)
    if teacher is not None or collection.pair_score is not None:
        _score_splits(splits, teacher, collection, options)

    tables, skipped = _tables(splits, collection, options.output_format)
    if skipped:
        dropped["train_queries_not_in_n_tuples"] = skipped
    threshold = _label_threshold(data, options)
    statistics = {name: table_statistics(table, threshold) for name, table in tables.items()}
    for name, split in splits.items():
        scores = _mining_distribution(split.queries, mined)
        if scores:
            statistics[name]["mining_scores"] = scores
    findings = [f for f in validate_tables(tables, threshold) if f.level == "error"]
    if findings:
        raise InputError(
            f"{data.name}: the built dataset fails validation: {findings[0]}; check the source rows"
        )
    metadata = _metadata(
        data, options, origin, kind if evaluated else None, mining_model, teacher, statistics, dropped
    )
    metadata["label_threshold"] = threshold
    if collection.pair_score is not None:
        metadata["teacher_scores"] = (
            f"{metadata['teacher_scores']}; it replaces the source's {SOURCE_SCORES}"
            if teacher
            else f"the source file's {SOURCE_SCORES}, not a teacher model"
        )
    return BuiltData(tables, metadata, options)


def _negatives_and_candidates(
    collection: Collection,
    by_split: dict[str, list[int]],
    evaluated: list[int],
    positives: dict[int, list[int]],
    judged_negatives: dict[int, list[int]],
    mining_model: ModelSource | None,
    kind: str,
    options: BuildOptions,
    log: Log,
) -> tuple[Mined, dict[int, list[int]], dict[int, list[int]]]:
    """Mined negatives, random negatives (per query index) and the first-stage lists of eval/test queries.

    The bi-encoder embeds the corpus once: mining caches the embeddings and the first stage reuses them.
    Its embeddings go through :func:`hubrerank.embeddings.encode` and, unless ``--no-cache``, the
    embedding cache, so a rebuild with the same model runs no forward pass.
    """
    queries, corpus = collection.queries.to_pylist(), collection.corpus.to_pylist()
    bm25_index = (
        Bm25Index(corpus, options.language)
        if (kind in ("bm25", "fused") and evaluated) or options.bm25
        else None
    )
    mined = Mined()
    mined_queries = [q for name in SPLITS for q in by_split[name]]
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hubrerank-mining-")))
        cache = None
        if mining_model is not None and not options.no_cache:
            cache = stack.enter_context(closing(EmbeddingCache()))
        encoder = _load_encoder(mining_model, cache, options) if mining_model else None
        if options.mining.negatives and bm25_index is not None and options.bm25:
            log(f"mining {options.mining.negatives} BM25 negatives per query")
            mined = mine_with_bm25(
                bm25_index, queries, mined_queries, positives, options.mining, options.seed
            )
        elif options.mining.negatives and encoder is not None and mining_model is not None:
            log(f"mining {options.mining.negatives} negatives per query with {mining_model.ref}")
            with_positive = {q: positives[q] for q in mined_queries if positives.get(q)}
            mined = mine_with_model(
                encoder, queries, corpus, with_positive, options.mining, options.seed, folder
            )
        extra = _random(collection, mined_queries, positives, judged_negatives, mined, options)
        ranked = _first_stage(
            kind, evaluated, queries, corpus, collection, encoder, bm25_index, mined, options, log
        )
    return mined, extra, ranked


def _retrieval_data(
    data: SourceData,
    collection: Collection,
    by_split: dict[str, list[int]],
    positives: dict[int, list[int]],
    judged_negatives: dict[int, list[int]],
    options: BuildOptions,
    origin: dict[str, str],
    dropped: dict[str, int],
) -> BuiltData:
    """The retrieval form (:func:`~hubrerank.data.forms.retrieval_tables`) of every split, with the
    source's whole corpus; documents without an id in the source get a hash of their text."""
    from hubrerank.hashing import text_id

    splits = {
        name: _split_docs(
            by_split[name], positives, judged_negatives, Mined(), {}, collection, options, False
        )
        for name in SPLITS
        if by_split[name]
    }
    texts = collection.corpus.to_pylist()
    source_ids = collection.doc_ids or [None] * len(texts)
    doc_ids = [doc_id or text_id(text) for doc_id, text in zip(source_ids, texts, strict=True)]
    tables = forms.retrieval_tables(
        splits, collection.queries, collection.query_ids, collection.corpus, doc_ids
    )
    findings = [f for f in validate_tables(tables) if f.level == "error"]
    if findings:
        raise InputError(f"{data.name}: the built dataset fails validation: {findings[0]}; check the source")
    statistics = {name: table_statistics(table) for name, table in tables.items()}
    for name in splits:
        statistics[f"queries/{name}"]["queries"] = tables[f"queries/{name}"].num_rows
    metadata = _metadata(data, options, origin, None, None, None, statistics, dropped)
    metadata["splits"] = {name: origin.get(name, "carved") for name in splits}
    metadata["files"] = {name: f"data/{name.replace('/', '-')}-00000-of-00001.parquet" for name in tables}
    metadata["configs"] = retrieval_configs(list(tables))
    metadata["label_threshold"] = _label_threshold(data, options)
    return BuiltData(tables, metadata, options)


def _load_encoder(model: ModelSource, cache: EmbeddingCache | None, options: BuildOptions) -> Embedder:
    require_sentence_transformer(model, "--mine-model")
    return load_embedder(
        model.path, cache, batch_size=options.mining.batch_size, progress=True, precision=options.precision
    )


def _judged(collection: Collection, threshold: float) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """Judged positive and negative document indices per query, in source order."""
    positives: dict[int, list[int]] = {}
    negatives: dict[int, list[int]] = {}
    for q in range(collection.num_queries):
        docs, labels = collection.judged(q)
        pos = docs[labels >= threshold].tolist()
        neg = docs[labels < threshold].tolist()
        if pos:
            positives[q] = pos
        if neg:
            negatives[q] = neg
    return positives, negatives


def _random(
    collection: Collection,
    query_indices: list[int],
    positives: dict[int, list[int]],
    negatives: dict[int, list[int]],
    mined: Mined,
    options: BuildOptions,
) -> dict[int, list[int]]:
    if not options.random_negatives:
        return {}
    exclude = {
        q: set(positives.get(q, ())) | set(negatives.get(q, ())) | set(mined.docs.get(q, ()))
        for q in query_indices
    }
    return random_negatives(
        query_indices, exclude, len(collection.corpus), options.random_negatives, options.seed
    )


def _first_stage(
    kind: str,
    evaluated: list[int],
    queries: list[str],
    corpus: list[str],
    collection: Collection,
    encoder: Embedder | None,
    bm25_index: Bm25Index | None,
    mined: Mined,
    options: BuildOptions,
    log: Log,
) -> dict[int, list[int]]:
    """The top-``candidates`` first-stage documents of every eval/test query."""
    k = options.candidates
    if not evaluated or k == 0:
        return {}
    if kind == "source":
        assert collection.ranking is not None
        return first_stage.source_candidates(collection.ranking, evaluated, k)
    rankings = []
    depth = max(k, first_stage.FUSION_DEPTH) if kind == "fused" else k
    if kind in ("embedding", "fused"):
        assert encoder is not None
        corpus_embeddings = mined.corpus_embeddings
        if corpus_embeddings is None or len(corpus_embeddings) != len(corpus):
            log(f"encoding {len(corpus)} documents and {len(evaluated)} queries for the first stage")
            corpus_embeddings = encode(encoder, corpus, "document", normalize=True)
        query_embeddings = encode(encoder, [queries[q] for q in evaluated], "query", normalize=True)
        rankings.append(
            first_stage.embedding_candidates(query_embeddings, corpus_embeddings, evaluated, depth)
        )
    if kind in ("bm25", "fused"):
        assert bm25_index is not None
        rankings.append(first_stage.bm25_candidates(bm25_index, queries, evaluated, depth))
    if len(rankings) == 1:
        return rankings[0]
    weights = [options.fusion_weight, 1.0 - options.fusion_weight]  # embedding, then BM25
    return first_stage.fuse(rankings, k, weights)


def _split_docs(
    query_indices: list[int],
    positives: dict[int, list[int]],
    negatives: dict[int, list[int]],
    mined: Mined,
    extra: dict[int, list[int]],
    collection: Collection,
    options: BuildOptions,
    binary: bool,
) -> forms.SplitDocs:
    """Per query: judged positives, judged negatives, mined and random negatives (each document once).

    With ``binary`` (graded qrels) labels become 1/0 by the positive threshold; otherwise they are kept.
    """
    docs: list[list[int]] = []
    labels: list[list[float]] = []
    for q in query_indices:
        judged_docs, judged_labels = collection.judged(q)
        label_of = dict(zip(judged_docs.tolist(), judged_labels.tolist(), strict=True))
        ordered = list(
            dict.fromkeys(
                [*positives.get(q, ()), *negatives.get(q, ()), *mined.docs.get(q, ()), *extra.get(q, ())]
            )
        )
        docs.append(ordered)
        values = [label_of.get(d, 0.0) for d in ordered]
        if binary:
            values = [1.0 if v >= options.positive_threshold else 0.0 for v in values]
        labels.append(values)
    threshold = 0.5 if binary else options.positive_threshold
    return forms.SplitDocs(query_indices, docs, labels, threshold)


def _label_threshold(data: SourceData, options: BuildOptions) -> float:
    """The threshold that tells positives in the output labels (graded qrels are written as 1/0)."""
    return 0.5 if data.format == "beir" else options.positive_threshold


SOURCE_SCORES = "`pos_scores`/`neg_scores`"


def _check_source_scores(collection: Collection, data: SourceData, options: BuildOptions, log: Log) -> None:
    """Source scores (FlagEmbedding's) cover the judged pairs only: added negatives need a teacher.

    With ``--teacher`` the teacher wins: it scores every pair, so the source's scores are replaced.
    """
    if collection.pair_score is None:
        return
    if options.teacher:
        log(f"--teacher scores every pair: its scores replace {data.name}'s pos_scores/neg_scores")
    elif options.mining.negatives or options.random_negatives:
        raise InputError(
            f"{data.name} carries pos_scores/neg_scores for its own pairs only; --negatives and "
            "--random-negatives add pairs without a score: pass --teacher to score every pair, or drop them"
        )


def _score_splits(
    splits: dict[str, forms.SplitDocs],
    teacher: ModelSource | None,
    collection: Collection,
    options: BuildOptions,
) -> None:
    """Scores of the train pairs from the source (when no teacher scored them) and of the eval/test
    first-stage ``documents``: the teacher's (one pass over both splits), or the source's where it judged
    the pair (else None)."""
    if teacher is None and "train" in splits:
        train = splits["train"]
        train.scores = []
        for q, docs in zip(train.queries, train.docs, strict=True):
            known = collection.source_scores(q)
            train.scores.append(np.array([known[d] for d in docs]))
    evaluated = [split for name, split in splits.items() if name != "train" and options.candidates]
    for split in evaluated:
        split.candidates = split.candidates or [[] for _ in split.queries]
    if teacher is None:
        for split in evaluated:
            split.candidate_scores = []
            for q, docs in zip(split.queries, split.candidates, strict=True):
                known = collection.source_scores(q)
                split.candidate_scores.append([known.get(d) for d in docs])
        return
    from hubrerank.data.teacher import teacher_scores

    sizes = [len(docs) for split in evaluated for docs in split.candidates]
    queries = np.repeat(np.asarray([q for split in evaluated for q in split.queries], np.int64), sizes)
    documents = np.asarray([d for split in evaluated for docs in split.candidates for d in docs], np.int64)
    flat = teacher_scores(
        teacher.path,
        collection.queries.take(pa.array(queries)).to_pylist(),
        collection.corpus.take(pa.array(documents)).to_pylist(),
        options.mining.batch_size,
        options.precision,
    ).tolist()
    start = 0
    for split in evaluated:
        split.candidate_scores = []
        for docs in split.candidates:
            split.candidate_scores.append(flat[start : start + len(docs)])
            start += len(docs)


def _score_with_teacher(
    split: forms.SplitDocs, teacher: ModelSource, collection: Collection, options: BuildOptions, log: Log
) -> None:
    from hubrerank.data.teacher import teacher_scores

    qs, ds, _ = split.flat()
    log(f"scoring {len(qs)} train pairs with the teacher {teacher.ref}")
    scores = teacher_scores(
        teacher.path,
        collection.queries.take(pa.array(qs)).to_pylist(),
        collection.corpus.take(pa.array(ds)).to_pylist(),
        options.mining.batch_size,
        options.precision,
    )
    bounds = np.cumsum([0] + [len(d) for d in split.docs])
    split.scores = [scores[bounds[i] : bounds[i + 1]] for i in range(len(split.docs))]


def _tables(
    splits: dict[str, forms.SplitDocs], collection: Collection, output_format: str
) -> tuple[dict[str, pa.Table], int]:
    tables: dict[str, pa.Table] = {}
    skipped = 0
    for name, split in splits.items():
        if name != "train":
            tables[name] = forms.reranking(
                split, collection.queries, collection.query_ids, collection.corpus, collection.doc_ids
            )
        elif output_format == "labeled-pair":
            tables[name] = forms.labeled_pair(split, collection.queries, collection.corpus)
        elif output_format == "labeled-list":
            tables[name] = forms.labeled_list(split, collection.queries, collection.corpus)
        elif output_format == "pairs":
            tables[name], skipped = forms.pairs(split, collection.queries, collection.corpus)
        elif output_format == "triplets":
            tables[name], skipped = forms.triplets(split, collection.queries, collection.corpus)
            if not tables[name].num_rows:
                raise InputError(
                    "--output-format triplets: no training query has both a positive and a negative; "
                    "add --negatives N with --mine-model REPO[@REV]|DIR or --bm25"
                )
        else:
            tables[name], skipped = forms.n_tuple(split, collection.queries, collection.corpus)
    return tables, skipped


def _mining_distribution(query_indices: list[int], mined: Mined) -> dict[str, Any] | None:
    positive = [s for q in query_indices for s in mined.positive_scores.get(q, ())]
    negative = [s for q in query_indices for s in mined.scores.get(q, ())]
    if not positive and not negative:
        return None
    return {"positive": distribution(positive), "negative": distribution(negative)}


def _teacher_scores(teacher: ModelSource | None) -> str | None:
    """What the score column holds, for the card: it depends on the kind of teacher."""
    if teacher is None:
        return None
    if model_kind(teacher.path) == "bi-encoder":
        return "the bi-encoder's embedding similarity"
    return "the cross-encoder's sigmoid score"


def _metadata(
    data: SourceData,
    options: BuildOptions,
    origin: dict[str, str],
    kind: str | None,
    mining_model: ModelSource | None,
    teacher: ModelSource | None,
    statistics: dict[str, Any],
    dropped: dict[str, int],
) -> dict[str, Any]:
    parameters = dataclasses.asdict(options)
    parameters.pop("mine_model")
    parameters.pop("teacher")
    parameters.pop("no_cache")  # how the embeddings were obtained, not what the data is
    parameters.pop("device")  # the same in any device (hubrerank.runtime)
    parameters.pop("devices")  # the same in one process as in several
    if options.dtype in (None, DEFAULT_DTYPE):  # float32 builds' metadata reads as it always did
        parameters.pop("dtype")
    for key in ("backend", "model_file"):  # torch builds' too
        if parameters[key] is None:
            parameters.pop(key)
    # how a variant ran beyond the options that chose it: a half dtype's scheme, the texts' batching
    ran = options.precision.record()
    parameters.update({key: ran[key] for key in ("dtype_scheme", "batching") if key in ran})
    parameters["split"] = list(options.split)
    return {
        "hubrerank_version": __version__,
        # the releases that mined, scored and split the data: a rebuild under others may differ
        # (sentence-transformers 6.3 changed mine_hard_negatives, hubrerank.reproducibility.upstream)
        "libraries": installed_versions(DATA_LIBRARIES),
        "source": {**data.provenance, "format": data.format, "name": data.name},
        "license": options.license or data.license or "unknown",
        "language": options.language,
        "splits": {name: origin.get(name, "carved") for name in statistics},
        "first_stage": kind,
        "mining_model": mining_model.record if mining_model else None,
        "mining": "bm25"
        if options.bm25 and options.mining.negatives
        else ("embedding" if options.mining.negatives else None),
        "teacher": teacher.record if teacher else None,
        "teacher_scores": _teacher_scores(teacher),
        "seed": options.seed,
        "parameters": parameters,
        "statistics": statistics,
        "dropped": dropped,
        "files": {name: f"data/{name}-00000-of-00001.parquet" for name in statistics},
        "configs": dataset_configs(list(statistics)),
    }
