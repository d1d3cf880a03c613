"""A local source: a data file, a folder of them (split by file name), or a beir, WikiQA or LlamaIndex
layout; each file goes to the reader of its format."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from hubrerank.data.sources.beir import beir_files, read_beir
from hubrerank.data.sources.common import (
    SPLIT_ALIASES,
    TABLE_SUFFIXES,
    ColumnHints,
    SourceData,
    check_utf8,
    concat,
    load_file,
)
from hubrerank.data.sources.llamaindex import read_llamaindex
from hubrerank.data.sources.tables import from_table
from hubrerank.data.sources.wikiqa import is_wikiqa, read_wikiqa
from hubrerank.errors import InputError
from hubrerank.hashing import file_sha256


def read_local(path: Path, format: str | None, hints: ColumnHints) -> SourceData:
    """A local file or folder, by its layout (WikiQA, beir) or by its data files."""
    if path.is_dir():
        if is_wikiqa(path):
            if format not in (None, "pairs"):
                raise InputError(f"{path} holds WikiQA token files (pairs); drop --format {format}")
            return read_wikiqa(path)
        if format == "beir" or (format is None and beir_files(path) is not None):
            return read_beir(path)
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES)
        if not files and (path / "data").is_dir():
            files = sorted(p for p in (path / "data").iterdir() if p.suffix.lower() in TABLE_SUFFIXES)
        if not files:
            raise InputError(
                f"{path} has no csv, tsv, json, jsonl or parquet file, nor a beir or WikiQA layout; "
                "pass a data file or a folder of them"
            )
        return _read_files(path.name, files, format, hints)
    if format == "beir":
        raise InputError(f"--format beir reads a folder (corpus, queries, qrels files); {path} is a file")
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise InputError(
            f"{path}: unsupported file type {path.suffix!r}; use csv, tsv, json, jsonl or parquet"
        )
    return _read_files(path.name, [path], format, hints, split_from_name=False)


def local_provenance(path: Path) -> dict[str, Any]:
    """The name and sha256 of a file, or of every file in a folder (sha256 over sorted names and digests)."""
    if path.is_file():
        return {"path": path.name, "sha256": file_sha256(path)}
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    lines = [f"{p.relative_to(path).as_posix()}\t{file_sha256(p)}" for p in files]
    return {
        "path": path.resolve().name,
        "sha256": hashlib.sha256("\n".join(lines).encode()).hexdigest(),
        "files": len(files),
    }


def _split_of_file(path: Path) -> str | None:
    tokens = [t.lower() for t in re.split(r"[^A-Za-z]+", path.stem) if t]
    found = {SPLIT_ALIASES[t] for t in tokens if t in SPLIT_ALIASES}
    return found.pop() if len(found) == 1 else None


def _read_files(
    name: str, files: list[Path], format: str | None, hints: ColumnHints, split_from_name: bool = True
) -> SourceData:
    splits = [_split_of_file(f) if split_from_name and len(files) > 1 else None for f in files]
    if any(splits) and not all(splits):
        unsplit = files[splits.index(None)]
        raise InputError(
            f"cannot tell which split {unsplit} belongs to while other files name theirs; "
            "put train, dev or test in its name, or pass a single file"
        )
    parts: list[SourceData] = []
    for file, split in zip(files, splits, strict=True):
        check_utf8(file)
        loaded = load_file(file)
        if isinstance(loaded, dict):
            if format not in (None, "llamaindex"):
                raise InputError(f"{file} is a LlamaIndex JSON object; drop --format {format}")
            parts.append(read_llamaindex(file.name, loaded, split))
        else:
            parts.append(from_table(file.name, loaded, format, hints, split))
    kinds = sorted({p.format for p in parts})
    if len(kinds) > 1:
        raise InputError(f"{name} mixes formats ({', '.join(kinds)}); pass one file or --format")
    return concat(name, parts)
