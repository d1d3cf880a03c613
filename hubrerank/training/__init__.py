"""Training: a recipe pinned to shas, trained with sentence-transformers' trainer, written with its record.

Importing this package does not import the Hugging Face stack.
"""

from hubrerank.training.recipe import Recipe, load_recipe
from hubrerank.training.trainer import TrainResult, train

__all__ = ["Recipe", "TrainResult", "load_recipe", "train"]
