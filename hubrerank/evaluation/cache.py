"""A persistent cache of cross-encoder logits, so re-evaluating a model runs no forward pass.

Entries are keyed by (model identity, max_length, query, document): the identity is a sha256 of the
files that make the model's scores (:func:`hubrerank.evaluation.scoring.model_identity`), wherever they
were read from.
The cache holds raw logits, before any activation, so the evaluator's sigmoid scores and ``rerank
--raw`` share one entry; values are float32 and round-trip exactly through SQLite's REAL.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from hubrerank.endpoint import hubrerank_home

_CHUNK = 900  # stay under SQLite's default limit of host parameters per statement
_SCHEMA = """
CREATE TABLE IF NOT EXISTS logits (
    model TEXT NOT NULL,
    max_length INTEGER NOT NULL,
    pair BLOB NOT NULL,
    logit REAL NOT NULL,
    PRIMARY KEY (model, max_length, pair)
) WITHOUT ROWID
"""


def default_cache_path() -> Path:
    """``$HUBRERANK_HOME/scores.sqlite``: shared by every command of this user."""
    return hubrerank_home() / "scores.sqlite"


def pair_key(query: str, document: str) -> bytes:
    """A fixed-size key for a (query, document) pair; the separator keeps ("ab", "c") != ("a", "bc")."""
    return hashlib.sha256(f"{query}\x1f{document}".encode()).digest()[:20]


class ScoreCache:
    """Logits of (query, document) pairs for one or many models, in one SQLite file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_cache_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._db.commit()

    def get(self, model: str, max_length: int, keys: Sequence[bytes]) -> dict[bytes, float]:
        """The cached logits among ``keys`` (missing keys are absent from the result)."""
        found: dict[bytes, float] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            found.update(
                self._db.execute(
                    "SELECT pair, logit FROM logits WHERE model = ? AND max_length = ? "
                    f"AND pair IN ({marks})",
                    (model, max_length, *chunk),
                )
            )
        return found

    def put(self, model: str, max_length: int, items: Iterable[tuple[bytes, float]]) -> None:
        """Store logits and commit, so an interrupted evaluation keeps what it has computed."""
        self._db.executemany(
            "INSERT OR REPLACE INTO logits (model, max_length, pair, logit) VALUES (?, ?, ?, ?)",
            ((model, max_length, key, float(value)) for key, value in items),
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()
