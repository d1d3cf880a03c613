"""``pairs``: query, passage and a label (0/1 or a float in [0, 1]) per row."""

from __future__ import annotations

from hubrerank.data.sources.common import (
    SourceData,
    SourceTable,
    TableFormat,
    answer_column,
    find_column,
    pair_judgments,
    parse_labels,
)
from hubrerank.errors import InputError

LABEL_NAMES = ("label", "labels", "score", "relevance")


def label_column(source: SourceTable) -> str | None:
    """The label column: the one the user named, or the one with a label-like name."""
    return find_column(
        source.columns, LABEL_NAMES, source.hints.label, "label", "--label-column", source.name
    )


def read(source: SourceTable, query: str, query_id: str | None) -> SourceData:
    """Each row as a judgment with its label; the first unusable label is named."""
    answer = answer_column(source)
    label_name = label_column(source)
    if label_name is None:
        raise InputError(
            f"{source.name}: pairs need a label column (looked for {', '.join(LABEL_NAMES)}); columns are "
            f"{', '.join(source.columns)}; pass --label-column NAME or use --format qa"
        )
    labels = parse_labels(source.name, source.table[label_name], label_name)
    return pair_judgments(source, "pairs", query, query_id, answer, labels)


FORMAT = TableFormat(detects=lambda source: label_column(source) is not None, read=read)
