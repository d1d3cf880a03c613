"""Top-k search over a corpus: lexical (bm25s) and dense (normalised embeddings, faiss when installed).

Both return ``(indices, scores)`` arrays of shape (queries, k), best first, padded with index -1 where a
query has fewer than k matches. Used for BM25 negatives and for the first-stage candidates of eval/test.
"""

from __future__ import annotations

import numpy as np

QUERY_BATCH = 4096
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af"
# one token per CJK character (those scripts put no spaces between words), words of 2+ characters otherwise
TOKEN_PATTERN = f"(?u)[{_CJK}]|[^\\W{_CJK}]{{2,}}"


class Bm25Index:
    """A bm25s index over the corpus; English stopwords are removed when the language is English, and
    Chinese, Japanese and Korean text is split into characters."""

    def __init__(self, corpus: list[str], language: str = "en") -> None:
        import bm25s
        from bm25s.tokenization import Tokenizer

        self._tokenizer = Tokenizer(splitter=TOKEN_PATTERN, stopwords="en" if language == "en" else None)
        tokens = self._tokenizer.tokenize(corpus, return_as="ids", show_progress=False)
        self._retriever = bm25s.BM25()
        self._retriever.index(tokens, show_progress=False)
        self._size = len(corpus)

    def search(self, queries: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k best documents per query; documents sharing no term with the query are not matches."""
        k = min(k, self._size)
        indices = np.full((len(queries), k), -1, dtype=np.int64)
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        if k == 0:
            return indices, scores
        for start in range(0, len(queries), QUERY_BATCH):
            batch = queries[start : start + QUERY_BATCH]
            tokens = self._tokenizer.tokenize(batch, update_vocab=False, return_as="ids", show_progress=False)
            found, found_scores = self._retriever.retrieve(tokens, k=k, show_progress=False, n_threads=1)
            matched = found_scores > 0
            indices[start : start + len(batch)] = np.where(matched, found, -1)
            scores[start : start + len(batch)] = np.where(matched, found_scores, -np.inf)
        return indices, scores


def dense_search(queries: np.ndarray, corpus: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product top-k, with faiss when installed, else numpy in query batches."""
    k = min(k, len(corpus))
    if k == 0 or len(queries) == 0:
        return np.full((len(queries), k), -1, dtype=np.int64), np.full((len(queries), k), -np.inf, np.float32)
    try:
        import faiss
    except ImportError:
        faiss = None
    if faiss is not None:
        index = faiss.IndexFlatIP(corpus.shape[1])
        index.add(corpus)
        parts = [index.search(queries[i : i + QUERY_BATCH], k) for i in range(0, len(queries), QUERY_BATCH)]
        scores = np.concatenate([p[0] for p in parts])
        indices = np.concatenate([p[1] for p in parts]).astype(np.int64)
        return indices, scores
    all_indices, all_scores = [], []
    for start in range(0, len(queries), QUERY_BATCH):
        similarity = queries[start : start + QUERY_BATCH] @ corpus.T
        top = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
        all_indices.append(top)
        all_scores.append(np.take_along_axis(similarity, top, axis=1))
    return np.concatenate(all_indices).astype(np.int64), np.concatenate(all_scores)
