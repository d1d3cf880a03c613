"""Negatives and first-stage candidates: embedding mining (corpus embedded once), BM25 windows,
random draws that avoid positives, reciprocal rank fusion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from data_fixtures import TOPICS

from hubrerank.data.candidates import fuse, source_candidates
from hubrerank.data.mining import (
    MiningSettings,
    check_settings,
    mine_with_bm25,
    mine_with_model,
    random_negatives,
)
from hubrerank.data.retrieval import Bm25Index, dense_search
from hubrerank.embeddings import EmbeddingCache, load_embedder
from hubrerank.errors import InputError
from hubrerank.runtime import Variant

QUERIES = [q for q, _ in TOPICS]
CORPUS = [a for _, a in TOPICS]
POSITIVES = {i: [i] for i in range(len(TOPICS))}


def test_embedding_mining_keeps_scores_and_the_corpus_embeddings(
    local_bi_encoder: Path, tmp_path: Path
) -> None:
    from sentence_transformers import SentenceTransformer

    cache = EmbeddingCache(tmp_path / "scores.sqlite")
    model = load_embedder(local_bi_encoder, cache, precision=Variant(device="cpu"))
    settings = MiningSettings(negatives=3)
    mined = mine_with_model(model, QUERIES, CORPUS, POSITIVES, settings, 12, tmp_path / "a")
    assert all(len(mined.docs[q]) == 3 and q not in mined.docs[q] for q in POSITIVES)
    assert all(len(mined.positive_scores[q]) == 1 for q in POSITIVES)
    assert mined.corpus_embeddings is not None and mined.corpus_embeddings.shape == (len(CORPUS), 32)
    assert model.computed == len(set(QUERIES)) + len(set(CORPUS))

    # the same as mining with the bare model, and a second run embeds nothing
    plain = SentenceTransformer(str(local_bi_encoder), device="cpu")
    direct = mine_with_model(plain, QUERIES, CORPUS, POSITIVES, settings, 12, tmp_path / "b")  # type: ignore[arg-type]
    warm = load_embedder(local_bi_encoder, cache, precision=Variant(device="cpu"))
    again = mine_with_model(warm, QUERIES, CORPUS, POSITIVES, settings, 12, tmp_path / "c")
    assert warm.computed == 0
    for other in (direct, again):
        assert (other.docs, other.scores, other.positive_scores) == (
            mined.docs,
            mined.scores,
            mined.positive_scores,
        )


def test_bm25_mining_skips_positives_and_respects_the_window() -> None:
    index = Bm25Index(CORPUS)
    settings = MiningSettings(negatives=2, range_max=6, sampling="random")
    mined = mine_with_bm25(index, QUERIES, list(POSITIVES), POSITIVES, settings, seed=3)
    assert mined.docs and all(q not in docs and len(docs) <= 2 for q, docs in mined.docs.items())
    assert mine_with_bm25(index, QUERIES, list(POSITIVES), POSITIVES, settings, seed=3).docs == mined.docs
    found, scores = index.search(["zebra"], 3)
    assert found.tolist() == [[-1, -1, -1]] and np.isinf(scores).all()


def test_random_negatives_avoid_excluded_documents() -> None:
    drawn = random_negatives([0, 1], {0: {0, 1, 2}, 1: set(range(11))}, 12, 4, seed=1)
    assert len(drawn[0]) == 4 and not {0, 1, 2} & set(drawn[0])
    assert drawn[1] == [11]


def test_fusion_and_source_rankings() -> None:
    # equal weights: 7 (1/61 + 1/63) beats 6 (2/62); the weights are halves, the order the same
    assert fuse([{0: [5, 6, 7]}, {0: [7, 6, 8]}], 3, [0.5, 0.5]) == {0: [7, 6, 5]}
    assert source_candidates({0: np.array([4, 3, 2])}, [0, 1], 2) == {0: [4, 3], 1: []}


def test_dense_search_returns_best_first() -> None:
    corpus = np.eye(3, dtype=np.float32)
    found, scores = dense_search(np.array([[0.1, 0.9, 0.2]], dtype=np.float32), corpus, 2)
    assert found.tolist() == [[1, 2]] and scores[0, 0] == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("settings", "lexical", "fragment"),
    [
        (MiningSettings(negatives=5, range_max=3), False, "--range-max 3 leaves fewer than --negatives 5"),
        (MiningSettings(negatives=1, max_score=0.9), True, "--max-score applies to embedding scores"),
        (MiningSettings(negatives=1, range_min=-1), False, "--range-min -1 is negative"),
    ],
)
def test_settings_that_cannot_work_are_refused(
    settings: MiningSettings, lexical: bool, fragment: str
) -> None:
    with pytest.raises(InputError, match=fragment):
        check_settings(settings, lexical)


def test_fusion_reads_each_ranking_deeper_than_the_cut_and_weighs_them() -> None:
    embedding, bm25 = {0: [1, 2, 3, 6]}, {0: [4, 5, 3, 7]}
    # document 3 is third for both rankers: fused, it beats every document only one ranker has
    assert fuse([embedding, bm25], 2, [0.5, 0.5]) == {0: [3, 1]}
    assert fuse([embedding, bm25], 2, [1.0, 0.0]) == {0: [1, 2]}
    assert fuse([embedding, bm25], 3, [0.2, 0.8]) == {0: [3, 4, 5]}
