"""Registers the evaluation fixtures; helpers live in evaluation_fixtures.py so tests can import them."""

from evaluation_fixtures import (
    nanobeir_repo,
    one_torch_thread,
    reranking_file,
    reranking_repo,
    word_cross_encoder,
)

__all__ = [
    "nanobeir_repo",
    "one_torch_thread",
    "reranking_file",
    "reranking_repo",
    "word_cross_encoder",
]
