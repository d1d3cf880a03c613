"""Negatives for each query: mined with a bi-encoder (sentence-transformers' mine_hard_negatives), mined
lexically (bm25s), or drawn at random from the corpus. All seeded.

``mine_hard_negatives`` has no seed argument (its random sampling uses Python's ``random``), so
:func:`seed_everything` seeds Python, numpy and torch before each call.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hubrerank.data.options import option
from hubrerank.data.retrieval import Bm25Index
from hubrerank.embeddings import Embedder
from hubrerank.errors import InputError

SAMPLING = ("top", "random")


@dataclass(frozen=True)
class MiningSettings:
    """The knobs of ``mine_hard_negatives`` hubrerank exposes (margins, max score: embedding only), each a
    ``hubrerank data build`` option (:mod:`hubrerank.data.options`)."""

    negatives: int = option("--negatives", 0)
    range_min: int = option("--range-min", 0)
    range_max: int | None = option("--range-max")
    absolute_margin: float | None = option("--absolute-margin")
    relative_margin: float | None = option("--relative-margin")
    max_score: float | None = option("--max-score")
    sampling: str = option("--sampling", "top", choices=SAMPLING)
    batch_size: int = option("--batch-size", 32)


@dataclass
class Mined:
    """Negatives found per query index (document indices, best first) and the scores the miner gave."""

    docs: dict[int, list[int]] = field(default_factory=dict)
    scores: dict[int, list[float]] = field(default_factory=dict)
    positive_scores: dict[int, list[float]] = field(default_factory=dict)
    corpus_embeddings: np.ndarray | None = None


def seed_everything(seed: int) -> None:
    """Seed Python's random, numpy and torch: the state mine_hard_negatives and encoders draw from."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def check_settings(settings: MiningSettings, lexical: bool) -> None:
    """Reject settings that cannot work before any model is loaded."""
    if settings.sampling not in SAMPLING:
        raise InputError(f"--sampling {settings.sampling!r}: use top or random")
    if settings.range_min < 0:
        raise InputError(f"--range-min {settings.range_min} is negative; give 0 or more")
    if settings.range_max is not None and settings.range_max - settings.range_min < settings.negatives:
        raise InputError(
            f"--range-max {settings.range_max} leaves fewer than --negatives {settings.negatives} candidates "
            f"after --range-min {settings.range_min}; raise --range-max"
        )
    if lexical:
        for name, value in (
            ("--absolute-margin", settings.absolute_margin),
            ("--relative-margin", settings.relative_margin),
            ("--max-score", settings.max_score),
        ):
            if value is not None:
                raise InputError(
                    f"{name} applies to embedding scores; drop it with --bm25 or mine with --mine-model"
                )


def mine_with_model(
    model: Embedder,
    queries: list[str],
    corpus: list[str],
    positives: dict[int, list[int]],
    settings: MiningSettings,
    seed: int,
    cache_folder: Path,
) -> Mined:
    """Hard negatives for every query index in ``positives`` via sentence-transformers' mine_hard_negatives.

    The whole corpus is the candidate pool; ``model`` embeds through :func:`hubrerank.embeddings.encode`
    (and its cache), and ``cache_folder`` keeps the embeddings of this run (the first stage reuses the
    corpus embeddings). Scores of positives and negatives are kept for the statistics.
    """
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives

    order = sorted(positives)
    dataset = Dataset.from_dict(
        {
            "query": [queries[q] for q in order for _ in positives[q]],
            "passage": [corpus[d] for q in order for d in positives[q]],
        }
    )
    seed_everything(seed)
    try:
        mined = mine_hard_negatives(
            dataset,
            model,
            anchor_column_name="query",
            positive_column_name="passage",
            corpus=corpus,
            range_min=settings.range_min,
            range_max=settings.range_max,
            max_score=settings.max_score,
            absolute_margin=settings.absolute_margin,
            relative_margin=settings.relative_margin,
            num_negatives=settings.negatives,
            sampling_strategy=settings.sampling,
            output_format="labeled-pair",
            output_scores=True,
            batch_size=settings.batch_size,
            use_faiss=_faiss_installed(),
            verbose=False,
            cache_folder=str(cache_folder),
        )
    except ValueError as error:
        raise InputError(f"mining failed: {error}; adjust --negatives, --range-min and --range-max") from None
    query_of = {queries[q]: q for q in order}
    doc_of = {text: d for d, text in enumerate(corpus)}
    positive_sets = {q: set(docs) for q, docs in positives.items()}
    result = Mined()
    table = mined.data.table
    for text, passage, score in zip(
        table["query"].to_pylist(), table["passage"].to_pylist(), table["score"].to_pylist(), strict=False
    ):
        q, d = query_of[text], doc_of[passage]
        if d in positive_sets[q]:
            result.positive_scores.setdefault(q, []).append(score)
        else:
            result.docs.setdefault(q, []).append(d)
            result.scores.setdefault(q, []).append(score)
    cached = sorted(cache_folder.glob("corpus_embeddings_*.npy"))
    if len(cached) == 1:
        result.corpus_embeddings = np.ascontiguousarray(np.load(cached[0]), dtype=np.float32)
    return result


def mine_with_bm25(
    index: Bm25Index,
    queries: list[str],
    query_indices: list[int],
    positives: dict[int, list[int]],
    settings: MiningSettings,
    seed: int,
) -> Mined:
    """Lexical hard negatives: the BM25 ranking minus the positives, windowed by range_min/range_max."""
    most_positives = max((len(p) for p in positives.values()), default=0)
    range_max = settings.range_max or settings.range_min + settings.negatives + most_positives
    found, scores = index.search([queries[q] for q in query_indices], range_max + most_positives)
    rng = np.random.default_rng(seed)
    result = Mined()
    for row, q in enumerate(query_indices):
        exclude = set(positives.get(q, ()))
        ranked = [
            (int(d), float(s))
            for d, s in zip(found[row], scores[row], strict=True)
            if d >= 0 and d not in exclude
        ]
        window = ranked[settings.range_min : range_max]
        if settings.sampling == "random" and len(window) > settings.negatives:
            window = [window[i] for i in sorted(rng.choice(len(window), settings.negatives, replace=False))]
        chosen = window[: settings.negatives]
        if chosen:
            result.docs[q] = [d for d, _ in chosen]
            result.scores[q] = [s for _, s in chosen]
        hits = {
            int(d): float(s)
            for d, s in zip(found[row], scores[row], strict=True)
            if d >= 0 and int(d) in exclude
        }
        if hits:
            result.positive_scores[q] = list(hits.values())
    return result


def random_negatives(
    query_indices: list[int], exclude: dict[int, set[int]], corpus_size: int, count: int, seed: int
) -> dict[int, list[int]]:
    """``count`` documents per query drawn uniformly from the corpus, never one in ``exclude[query]``."""
    rng = np.random.default_rng(seed)
    result: dict[int, list[int]] = {}
    for q in query_indices:
        banned = exclude.get(q, set())
        available = corpus_size - len(banned)
        if available <= count:
            chosen = [d for d in range(corpus_size) if d not in banned]
        else:
            chosen = []
            taken = set(banned)
            while len(chosen) < count:
                d = int(rng.integers(corpus_size))
                if d not in taken:
                    taken.add(d)
                    chosen.append(d)
        if chosen:
            result[q] = chosen
    return result


def _faiss_installed() -> bool:
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True
