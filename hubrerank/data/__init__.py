"""Reranker datasets: read a source, normalise, split by query, mine negatives, rank first-stage
candidates, score with a teacher, and write or publish parquet files with a card (``hubrerank data``).

Importing this package does not import the Hugging Face stack: that happens inside the functions.
"""

from hubrerank.data.build import BuiltData, build_dataset
from hubrerank.data.build_options import BuildOptions
from hubrerank.data.mining import MiningSettings
from hubrerank.data.output import check_out_folder, push_dataset, write_local
from hubrerank.data.validate import BuiltDataset, Finding, load_built, validate_tables

__all__ = [
    "BuildOptions",
    "BuiltData",
    "BuiltDataset",
    "Finding",
    "MiningSettings",
    "build_dataset",
    "check_out_folder",
    "load_built",
    "push_dataset",
    "validate_tables",
    "write_local",
]
