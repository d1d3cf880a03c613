"""The dataset viewer: the first rows of each config and split, read from the repo's parquet files.

Configs and splits come from the card's ``configs:`` (``data_files`` with a ``split`` and a ``path``
pattern each, what ``datasets`` and ``hubrerank data build`` write), else from the files' names
(``data/train-00000-of-00001.parquet`` is split ``train`` of config ``default``; a first folder other
than ``data`` names the config). Row counts and column types come from the parquet footers; a page
of rows reads only the row group that holds it, and a row group over ``MAX_ROW_GROUP_BYTES``
uncompressed is not read at all. Long cells are cut at ``MAX_CELL_CHARS``. A file pyarrow cannot read
is one line on the page, never an error of the page.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq
from starlette.responses import Response

from hubrerank.server.objects import Commit
from hubrerank.server.pages.repo import header
from hubrerank.server.pages.routes import page_number
from hubrerank.server.storage import Store
from hubrerank.server.views import card_data

if TYPE_CHECKING:
    from hubrerank.server.call import Call
    from hubrerank.server.pages.routes import Pages

ROWS_PAGE = 25
MAX_CELL_CHARS = 300
MAX_ROW_GROUP_BYTES = 64 * 1024 * 1024
MAX_SPLITS = 100  # (config, split) pairs listed
_SHARD = re.compile(r"^(?P<split>.+?)(-\d{5}-of-\d{5})?\.parquet$")


@dataclass(frozen=True)
class Split:
    """A config's split and the parquet files that hold it, in order."""

    config: str
    name: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class Column:
    """A column's name and its arrow type, as text."""

    name: str
    type: str


@dataclass(frozen=True)
class Rows:
    """One page of a split: its columns, rows (cells as display text), and row count."""

    columns: list[Column]
    rows: list[list[str]]
    total: int
    problem: str | None = None


def _from_card(card: dict[str, Any], paths: Sequence[str]) -> list[Split]:
    """The splits the card's ``configs:`` name, each with the parquet files its patterns match."""
    splits = []
    configs = card.get("configs")
    for config in configs if isinstance(configs, list) else []:
        if not isinstance(config, dict) or not isinstance(config.get("config_name"), str):
            continue
        data_files = config.get("data_files")
        if isinstance(data_files, str):
            data_files = [{"split": "train", "path": data_files}]
        for item in data_files if isinstance(data_files, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("split"), str):
                continue
            patterns = item.get("path")
            patterns = [patterns] if isinstance(patterns, str) else patterns
            if not isinstance(patterns, list):
                continue
            files = tuple(
                p
                for p in paths
                if any(isinstance(pattern, str) and fnmatch.fnmatchcase(p, pattern) for pattern in patterns)
            )
            if files:
                splits.append(Split(config["config_name"], item["split"], files))
    return splits


def _from_names(paths: Sequence[str]) -> list[Split]:
    """Splits from file names: ``[CONFIG/]SPLIT-00000-of-00001.parquet`` or ``CONFIG/SPLIT/x.parquet``."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for path in paths:
        parts = path.split("/")
        config = parts[0] if len(parts) > 1 and parts[0] != "data" else "default"
        match = _SHARD.match(parts[-1])
        split = parts[-2] if len(parts) > 2 else (match.group("split") if match else parts[-1])
        grouped.setdefault((config, split), []).append(path)
    return [Split(config, split, tuple(files)) for (config, split), files in grouped.items()]


def dataset_splits(store: Store, commit: Commit) -> list[Split]:
    """The configs and splits of a dataset commit's parquet files (see the module's docstring)."""
    paths = sorted(path for path in commit.tree if path.endswith(".parquet"))
    card = card_data(store, commit) or {}
    return (_from_card(card, paths) or _from_names(paths))[:MAX_SPLITS]


def cell(value: Any) -> str:
    """A value as the viewer shows it: text as is, anything else as JSON, cut at ``MAX_CELL_CHARS``."""
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS] + "…"


def read_rows(store: Store, commit: Commit, split: Split, offset: int) -> Rows:
    """Up to ``ROWS_PAGE`` rows of ``split`` from row ``offset``."""
    try:
        files = [pq.ParquetFile(store.blob_path(commit.tree[path].sha256)) for path in split.files]
        schema = files[0].schema_arrow
        columns = [Column(field.name, str(field.type)) for field in schema]
        total = sum(f.metadata.num_rows for f in files)
        rows: list[list[str]] = []
        for parquet in files:
            metadata = parquet.metadata
            for group in range(metadata.num_row_groups):
                size = metadata.row_group(group).num_rows
                if offset >= size:
                    offset -= size
                    continue
                if metadata.row_group(group).total_byte_size > MAX_ROW_GROUP_BYTES:
                    problem = f"a row group of {split.files[0]} is too large to show here"
                    return Rows(columns, rows, total, problem)
                table = parquet.read_row_group(group).slice(offset, ROWS_PAGE - len(rows))
                rows += [[cell(row.get(c.name)) for c in columns] for row in table.to_pylist()]
                offset = 0
                if len(rows) >= ROWS_PAGE:
                    return Rows(columns, rows, total)
        return Rows(columns, rows, total)
    except (pa.ArrowException, OSError, KeyError, IndexError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        return Rows([], [], 0, f"cannot read {split.config}/{split.name}: {message}")


def viewer(pages: Pages, call: Call, repo_type: str) -> Response:
    """``/datasets/NS/NAME/viewer?config=&split=&p=``: one split's rows, with every split listed."""
    state = pages.hub.readable(call, repo_type)
    revision = "main"
    commit = pages.store.resolve(state, revision)
    splits = dataset_splits(pages.store, commit)
    query = call.request.query_params
    chosen = next(
        (s for s in splits if s.config == query.get("config") and s.name == query.get("split")),
        splits[0] if splits else None,
    )
    number = page_number(query.get("p"))
    rows = read_rows(pages.store, commit, chosen, (number - 1) * ROWS_PAGE) if chosen else None
    return pages.render(
        call,
        "viewer.html",
        top=header(pages, state, revision, commit, "viewer"),
        splits=splits,
        chosen=chosen,
        rows=rows,
        number=number,
        page_size=ROWS_PAGE,
        last=max(1, -(-rows.total // ROWS_PAGE)) if rows else 1,
    )
