"""``flag``: FlagEmbedding jsonl ``{query, pos: [...], neg: [...]}`` (any query column with list-valued
positive and negative columns), with the teacher scores FlagEmbedding's distillation data carries in
``pos_scores``/``neg_scores`` (one score per text) kept as a ``score`` column of the judgments."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from hubrerank.data.sources.common import JUDGMENTS_SCHEMA, SourceData, SourceTable, TableFormat, as_text
from hubrerank.errors import InputError

LIST_POSITIVE_NAMES = ("pos", "positive", "positives")
LIST_NEGATIVE_NAMES = ("neg", "negative", "negatives")


def _list_columns(source: SourceTable, names: tuple[str, ...]) -> list[str]:
    return [c for c in source.columns if c.lower() in names and source.is_list[c]]


def _score_column(source: SourceTable, texts: str) -> str | None:
    """``pos_scores`` for ``pos`` (FlagEmbedding's name), when the source has that list column."""
    return next(
        (c for c in source.columns if c.lower() == f"{texts.lower()}_scores" and source.is_list[c]), None
    )


def _check_scores(source: SourceTable, texts: list[str]) -> list[str] | None:
    """The score column of each text column, or None without scores; InputError when only some have one
    or a row's scores and texts differ in length."""
    scores = [_score_column(source, column) for column in texts]
    if not any(scores):
        return None
    if not all(scores):
        have = ", ".join(c for c in scores if c)
        lack = ", ".join(t for t, c in zip(texts, scores, strict=True) if not c)
        raise InputError(
            f"{source.name}: has {have} but no scores for {lack}; give scores for every list or none"
        )
    for column, score in zip(texts, scores, strict=True):
        assert score is not None
        text_lengths = pc.fill_null(pc.list_value_length(source.table[column]), 0).to_numpy(
            zero_copy_only=False
        )
        score_lengths = pc.fill_null(pc.list_value_length(source.table[score]), 0).to_numpy(
            zero_copy_only=False
        )
        bad = (text_lengths != score_lengths).nonzero()[0]
        if len(bad):
            row = int(bad[0])
            raise InputError(
                f"{source.name}: row {row + 1}: {score} has {score_lengths[row]} scores for "
                f"{text_lengths[row]} {column} texts; give one score per text"
            )
    return [s for s in scores if s]


def read(source: SourceTable, query: str, query_id: str | None) -> SourceData:
    """One judgment per listed document (positives 1, negatives 0), in row order, with its ``score`` when
    the source has ``pos_scores``/``neg_scores``."""
    name, table, split, columns = source.name, source.table, source.split, source.columns
    pos = _list_columns(source, LIST_POSITIVE_NAMES)
    neg = _list_columns(source, LIST_NEGATIVE_NAMES)
    if len(pos) != 1 or len(neg) > 1:
        raise InputError(
            f"{name}: flag needs one list column of positives ({'/'.join(LIST_POSITIVE_NAMES)}) and at most "
            f"one of negatives ({'/'.join(LIST_NEGATIVE_NAMES)}); columns are {', '.join(columns)}"
        )
    score_columns = _check_scores(source, [pos[0], *neg])
    n = table.num_rows
    ids = as_text(table[query_id]) if query_id else pa.chunked_array([pa.nulls(n, pa.string())])
    queries = as_text(table[query])
    pieces = []
    for index, (column, label) in enumerate([(pos[0], 1.0), *([(neg[0], 0.0)] if neg else [])]):
        values = table[column].combine_chunks()
        parents = pc.list_parent_indices(values)
        flat = pc.list_flatten(values)
        scores = {}
        if score_columns:
            scores["score"] = pc.list_flatten(table[score_columns[index]].combine_chunks()).cast(pa.float64())
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
                    **scores,
                }
            )
        )
    joined = pa.concat_tables(pieces)
    joined = joined.take(pc.sort_indices(joined, [("_row", "ascending")])).drop_columns(["_row"])
    schema = JUDGMENTS_SCHEMA.append(pa.field("score", pa.float64())) if score_columns else JUDGMENTS_SCHEMA
    return SourceData(name=name, format="flag", judgments=joined.cast(schema))


FORMAT = TableFormat(detects=lambda source: bool(_list_columns(source, LIST_POSITIVE_NAMES)), read=read)
