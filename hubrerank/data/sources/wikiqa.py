"""WikiQA's token files (``{split}/a.toks, b.toks, sim.txt, id.txt``), read as ``pairs``."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from hubrerank.data.sources.common import (
    JUDGMENTS_SCHEMA,
    SPLIT_ALIASES,
    SourceData,
    check_utf8,
    concat,
    parse_labels,
)
from hubrerank.errors import InputError


def is_wikiqa(path: Path) -> bool:
    return any((d / "a.toks").is_file() and (d / "b.toks").is_file() for d in _wikiqa_dirs(path))


def _wikiqa_dirs(path: Path) -> list[Path]:
    roots = [path, *sorted(p for p in path.iterdir() if p.is_dir())]
    return [d for root in roots for d in sorted(root.iterdir()) if d.is_dir() and (d / "sim.txt").is_file()]


def _read_lines(path: Path) -> list[str]:
    check_utf8(path)
    return path.read_text(encoding="utf-8").split("\n")[:-1] if path.stat().st_size else []


def read_wikiqa(path: Path) -> SourceData:
    """WikiQA as castorini ships it: per split folder, line-aligned question, sentence, label and id files."""
    parts = []
    for folder in _wikiqa_dirs(path):
        split = SPLIT_ALIASES.get(folder.name.lower())
        if split is None:
            raise InputError(f"{folder}: unknown split folder {folder.name!r}; name it train, dev or test")
        questions, sentences = _read_lines(folder / "a.toks"), _read_lines(folder / "b.toks")
        labels = _read_lines(folder / "sim.txt")
        ids = _read_lines(folder / "id.txt") if (folder / "id.txt").is_file() else [None] * len(questions)
        lengths = {len(questions), len(sentences), len(labels), len(ids)}
        if len(lengths) != 1:
            raise InputError(
                f"{folder}: a.toks, b.toks, sim.txt and id.txt have different line counts {lengths}"
            )
        name = f"{path.name}/{folder.name}/sim.txt"
        label_column = parse_labels(name, pa.chunked_array([pa.array(labels, pa.string())]), "sim.txt")
        n = len(questions)
        parts.append(
            SourceData(
                name=name,
                format="pairs",
                judgments=pa.table(
                    {
                        "query_id": pa.array(ids, pa.string()),
                        "query": pa.array(questions, pa.string()),
                        "doc_id": pa.nulls(n, pa.string()),
                        "passage": pa.array(sentences, pa.string()),
                        "label": label_column,
                        "split": pa.array([split] * n, pa.string()),
                    },
                    schema=JUDGMENTS_SCHEMA,
                ),
            )
        )
    return concat(path.name, parts)
