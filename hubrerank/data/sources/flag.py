"""``flag``: FlagEmbedding jsonl ``{query, pos: [...], neg: [...]}`` (any query column with list-valued
positive and negative columns)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from hubrerank.data.sources.common import JUDGMENTS_SCHEMA, SourceData, SourceTable, TableFormat, as_text
from hubrerank.errors import InputError

LIST_POSITIVE_NAMES = ("pos", "positive", "positives")
LIST_NEGATIVE_NAMES = ("neg", "negative", "negatives")


def _list_columns(source: SourceTable, names: tuple[str, ...]) -> list[str]:
    return [c for c in source.columns if c.lower() in names and source.is_list[c]]


def read(source: SourceTable, query: str, query_id: str | None) -> SourceData:
    """One judgment per listed document (positives 1, negatives 0), in row order."""
    name, table, split, columns = source.name, source.table, source.split, source.columns
    pos = _list_columns(source, LIST_POSITIVE_NAMES)
    neg = _list_columns(source, LIST_NEGATIVE_NAMES)
    if len(pos) != 1 or len(neg) > 1:
        raise InputError(
            f"{name}: flag needs one list column of positives ({'/'.join(LIST_POSITIVE_NAMES)}) and at most "
            f"one of negatives ({'/'.join(LIST_NEGATIVE_NAMES)}); columns are {', '.join(columns)}"
        )
    n = table.num_rows
    ids = as_text(table[query_id]) if query_id else pa.chunked_array([pa.nulls(n, pa.string())])
    queries = as_text(table[query])
    pieces = []
    for column, label in [(pos[0], 1.0), *([(neg[0], 0.0)] if neg else [])]:
        values = table[column].combine_chunks()
        parents = pc.list_parent_indices(values)
        flat = pc.list_flatten(values)
        pieces.append(
            pa.table(
                {
                    "query_id": ids.take(parents),
                    "query": queries.take(parents),
                    "doc_id": pa.nulls(len(flat), pa.string()),
                    "passage": flat.cast(pa.string()),
                    "label": pa.array([label] * len(flat), pa.float64()),
                    "split": pa.array([split] * len(flat), pa.string()),
                    "_row": parents.cast(pa.int64()),
                }
            )
        )
    joined = pa.concat_tables(pieces)
    joined = joined.take(pc.sort_indices(joined, [("_row", "ascending")])).drop_columns(["_row"])
    return SourceData(name=name, format="flag", judgments=joined.cast(JUDGMENTS_SCHEMA))


FORMAT = TableFormat(detects=lambda source: bool(_list_columns(source, LIST_POSITIVE_NAMES)), read=read)
