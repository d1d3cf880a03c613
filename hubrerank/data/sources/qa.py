"""``qa``: a question column and an answer column; every row is a positive pair."""

from __future__ import annotations

import pyarrow as pa

from hubrerank.data.sources.common import SourceData, SourceTable, TableFormat, answer_column, pair_judgments


def read(source: SourceTable, query: str, query_id: str | None) -> SourceData:
    """Each row as a judgment labelled 1."""
    answer = answer_column(source)
    labels = pa.array([1.0] * source.table.num_rows, pa.float64())
    return pair_judgments(source, "qa", query, query_id, answer, labels)


FORMAT = TableFormat(detects=lambda _: True, read=read)
