"""Read a reranking source into one shape: judged (query, passage, label) rows, a corpus and a ranking.

Sources are a local file or folder, or a Hub dataset ``REPO[@REVISION]``. Formats:

- ``qa``: a question column and an answer column (every pair is a positive);
- ``pairs``: query, passage and a label (0/1 or a float in [0, 1]); WikiQA's token files
  (``{split}/a.toks, b.toks, sim.txt, id.txt``) are read as pairs too;
- ``llamaindex``: a JSON object ``{queries, corpus, relevant_docs}``;
- ``beir``: ``corpus``, ``queries`` and ``qrels`` files in one folder (jsonl or tsv), plus a TREC run file
  (``*run*``) when present: the first-stage ranking the source already has;
- ``flag``: FlagEmbedding jsonl ``{query, pos: [...], neg: [...]}`` (any query column with list-valued
  positive/negative columns).

The format is detected from the folder layout and the column names unless ``format`` forces one. Each
format has its module (tables in ``qa``, ``pairs``, ``flag``, registered in ``tables.TABLE_FORMATS``; the
layouts ``llamaindex``, ``beir``, ``wikiqa``); ``local`` and ``hub`` find the files and dispatch.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from hubrerank.data.sources.common import SPLIT_ALIASES, TABLE_SUFFIXES, ColumnHints, SourceData
from hubrerank.data.sources.hub import read_hub
from hubrerank.data.sources.local import local_provenance, read_local
from hubrerank.errors import InputError

FORMATS = ("qa", "pairs", "llamaindex", "beir", "flag")
NO_HINTS = ColumnHints()

__all__ = ["FORMATS", "ColumnHints", "SourceData", "read_source"]


def read_source(
    source: str,
    *,
    format: str | None = None,
    config: str | None = None,
    splits: Iterable[str] | None = None,
    hints: ColumnHints = NO_HINTS,
) -> SourceData:
    """Read ``source`` (a local path or ``REPO[@REVISION]``) and keep only ``splits`` when given."""
    if format is not None and format not in FORMATS:
        raise InputError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    path = Path(source)
    if path.exists():
        if config is not None:
            raise InputError(f"--config {config!r} applies to Hub datasets only; {source} is a local path")
        data = read_local(path, format, hints)
        data.provenance = {"kind": "local", **local_provenance(path)}
    elif path.suffix.lower() in TABLE_SUFFIXES or source.startswith((".", "/", "~")):
        raise InputError(f"{source}: no such file or folder; check the path")
    else:
        data = read_hub(source, format, config, hints)
    if splits:
        data.judgments = _select_splits(data, list(splits))
    return data


def _select_splits(data: SourceData, wanted: list[str]) -> pa.Table:
    names = [SPLIT_ALIASES.get(w.lower(), w) for w in wanted]
    available = sorted({s for s in data.judgments["split"].to_pylist() if s is not None})
    if not available:
        raise InputError(f"{data.name} has no splits; drop --split {','.join(wanted)}")
    missing = [w for w, n in zip(wanted, names, strict=True) if n not in available]
    if missing:
        raise InputError(
            f"{data.name} has no split {missing[0]!r}; it has {', '.join(available)} (pass one to --split)"
        )
    return data.judgments.filter(pc.is_in(data.judgments["split"], pa.array(names)))
