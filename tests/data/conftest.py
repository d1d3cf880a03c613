"""Registers the data fixtures; helpers live in data_fixtures.py so tests can import them."""

from data_fixtures import (
    beir_folder,
    flag_jsonl,
    llamaindex_json,
    local_bi_encoder,
    local_cross_encoder,
    pairs_csv,
    qa_csv,
    wikiqa_folder,
)

__all__ = [
    "beir_folder",
    "flag_jsonl",
    "llamaindex_json",
    "local_bi_encoder",
    "local_cross_encoder",
    "pairs_csv",
    "qa_csv",
    "wikiqa_folder",
]
