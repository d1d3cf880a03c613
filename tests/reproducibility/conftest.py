"""Registers the reproduce fixtures; helpers live in reproduce_fixtures.py so tests can import them."""

from reproduce_fixtures import (
    faq_data,
    trained,
)

__all__ = [
    "faq_data",
    "trained",
]
