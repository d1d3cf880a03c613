"""Nearest-name hints for the one-line errors about recipe keys, loss names and argument values."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(key: str, candidates: Iterable[str]) -> str:
    """``"; did you mean X?"`` for the nearest candidate, or nothing when none is near."""
    matches = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {matches[0]}?" if matches else ""
