"""Checking published numbers: claims, ``verify`` (re-evaluate), ``reproduce`` (retrain), tolerances,
recipes rebuilt from sentence-transformers cards, and the CI workflows that run these checks.

Importing this package does not import the Hugging Face stack.
"""

from hubrerank.reproducibility.reproduce import reproduce
from hubrerank.reproducibility.verify import Report, verify

__all__ = ["Report", "reproduce", "verify"]
