"""A source table (csv, tsv, json, jsonl, parquet, a Hub split): find the query column, tell the format
(the first of TABLE_FORMATS whose columns match, unless one is forced) and let that format read it."""

from __future__ import annotations

import pyarrow as pa

from hubrerank.data.sources import flag, pairs, qa
from hubrerank.data.sources.common import (
    QUERY_ID_NAMES,
    QUERY_NAMES,
    ColumnHints,
    SourceData,
    SourceTable,
    TableFormat,
    find_column,
)
from hubrerank.errors import InputError

# detection order: list-valued positives make flag, a label column pairs, anything else qa
TABLE_FORMATS: dict[str, TableFormat] = {"flag": flag.FORMAT, "pairs": pairs.FORMAT, "qa": qa.FORMAT}


def from_table(
    name: str, table: pa.Table, format: str | None, hints: ColumnHints, split: str | None
) -> SourceData:
    """Judgments from one table, in ``format`` or the format its columns show."""
    columns = table.column_names
    query = find_column(columns, QUERY_NAMES, hints.query, "query", "--query-column", name)
    is_list = {
        c: pa.types.is_list(t) or pa.types.is_large_list(t)
        for c, t in zip(columns, table.schema.types, strict=True)
    }
    source = SourceTable(name, table, hints, split, is_list)
    if format is None:
        format = next(key for key, reader in TABLE_FORMATS.items() if reader.detects(source))
    if format not in TABLE_FORMATS:
        raise InputError(
            f"{name} is a table (columns {', '.join(columns)}), not {format}; drop --format {format}"
        )
    if query is None:
        raise InputError(
            f"{name}: no query column (looked for {', '.join(QUERY_NAMES)}); columns are "
            f"{', '.join(columns)}; pass --query-column NAME"
        )
    query_id = find_column(columns, QUERY_ID_NAMES, None, "query id", "a single id column", name)
    return TABLE_FORMATS[format].read(source, query, query_id)
