"""Reranking-form evaluation data: load it from a local path or a pinned Hub dataset, and check its columns.

The reranking form (docs/contracts.md) has one row per query: ``query_id, query, positive: list[str],
negative: list[str], documents: list[str]`` (the first-stage ranked list, may be empty) and optionally
``document_ids`` and ``scores`` (teacher scores, null where none) aligned with ``documents``. A row
becomes the sample CrossEncoderRerankingEvaluator reads: ``{query, positive, documents}`` when it has a
first-stage list, else ``{query, positive, negative}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from hubrerank.errors import InputError
from hubrerank.hashing import text_id
from hubrerank.hub import dataset_layout, load_dataset_split, locate, resolve
from hubrerank.refs import Ref

REQUIRED_COLUMNS = ("query", "positive")
LIST_COLUMNS = ("documents", "negative")
FILE_BUILDERS = {".parquet": "parquet", ".jsonl": "json", ".json": "json"}
BUILD_HINT = "`hubrerank data build` makes reranking splits"


@dataclass(frozen=True)
class RerankingRow:
    """One query of a reranking split, with ids for the documents (for TREC run files)."""

    query_id: str
    query: str
    positive: list[str]
    negative: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    document_ids: list[str] = field(default_factory=list)
    scores: list[float | None] = field(default_factory=list)
    # judged positives with no text to rank (a TREC corpus holding only the first stage's passages):
    # never listed nor injected, but counted by the all-positives definition, as trec_eval counts them
    unlisted_positives: int = 0

    def sample(self) -> dict[str, Any]:
        """The row as CrossEncoderRerankingEvaluator expects it (``documents`` wins when non-empty)."""
        if self.documents:
            return {"query": self.query, "positive": self.positive, "documents": self.documents}
        return {"query": self.query, "positive": self.positive, "negative": self.negative}

    def doc_id(self, text: str) -> str:
        """The id of a document: from ``document_ids`` when the row has them, else a hash of the text."""
        return self._ids.get(text) or text_id(text)

    @cached_property
    def _ids(self) -> dict[str, str]:
        """Each document text's id in ``document_ids`` (the first one when a text repeats)."""
        if not self.document_ids:
            return {}
        return dict(zip(reversed(self.documents), reversed(self.document_ids), strict=True))


@dataclass(frozen=True)
class RerankingData:
    """A loaded reranking split and where it came from (``revision`` is a sha, None for local data)."""

    rows: list[RerankingRow]
    dataset: str
    revision: str | None
    config: str
    split: str

    @property
    def has_documents(self) -> bool:
        return any(row.documents for row in self.rows)


def resolve_data(text: str) -> tuple[str, str | None]:
    """A data reference as (dataset, revision sha): a local path keeps None, ``REPO[@REV]`` is pinned."""
    located = locate(text, "dataset")
    return located.name, located.sha


def load_reranking_data(
    dataset: str, revision: str | None = None, *, config: str | None = None, split: str = "test"
) -> RerankingData:
    """Load ``split`` of a reranking dataset and check it is in reranking form.

    ``dataset`` is a local ``.parquet``/``.jsonl`` file (read as ``split``), a local folder (a Hub-layout
    dataset folder or a ``save_to_disk`` folder) or a Hub dataset id read at ``revision`` (a sha; None
    resolves ``main`` to its sha first). Without ``config``, the one config that has ``split`` is used
    (hubrerank's built datasets keep train in ``default`` and eval/test in ``reranking``); it is recorded.
    """
    records, revision, config = load_split(dataset, revision, config=config, split=split)
    source = f"{dataset}@{revision}" if revision else dataset
    validate_columns(records.column_names, f"{source} split {split!r}")
    try:
        rows = [_row(record, index) for index, record in enumerate(records)]
    except InputError as error:  # name the file: a row's message alone does not
        raise InputError(f"{source} split {split!r}, {error}") from None
    if not rows:
        raise InputError(f"{source} split {split!r} has no rows; choose a split with queries (--split)")
    return RerankingData(rows, dataset, revision, config, split)


def load_split(
    dataset: str, revision: str | None = None, *, config: str | None = None, split: str = "test"
) -> tuple[Any, str | None, str]:
    """``split`` of ``dataset`` (a local file or folder, or a Hub dataset id at ``revision``, None resolving
    ``main``) as a ``datasets.Dataset``, with the revision (None for local data) and config it was read at;
    without ``config``, the one config that has ``split``. Any evaluation task's data is read here."""
    path = Path(dataset)
    if path.exists():
        records, config = _load_local(path, config, split)
        return records, None, config
    if revision is None:
        revision = resolve(Ref(dataset, None, "dataset")).sha
    records, config = _load_hub(dataset, revision, config, split)
    return records, revision, config


def validate_columns(columns: Sequence[str], source: str) -> None:
    """Raise InputError naming the missing columns unless ``columns`` hold the reranking form."""
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if not any(name in columns for name in LIST_COLUMNS):
        missing.append("documents (or negative)")
    if missing:
        raise InputError(
            f"{source} is not in reranking form: missing column(s) {', '.join(missing)} "
            f"(has {', '.join(columns) or 'none'}); {BUILD_HINT}"
        )


def rows_from_samples(samples: Sequence[dict[str, Any]]) -> list[RerankingRow]:
    """Reranking rows from evaluator-style samples: ``query``, ``positive``, ``negative`` or ``documents``."""
    return [_row(sample, index) for index, sample in enumerate(samples)]


def _row(record: dict[str, Any], index: int) -> RerankingRow:
    positive = record["positive"]
    documents = list(record.get("documents") or [])
    document_ids = [str(doc_id) for doc_id in record.get("document_ids") or []]
    if document_ids and len(document_ids) != len(documents):
        raise InputError(
            f"row {index}: document_ids has {len(document_ids)} ids for {len(documents)} documents; "
            "they must be aligned"
        )
    scores = list(record.get("scores") or [])
    if scores and len(scores) != len(documents):
        raise InputError(
            f"row {index}: scores has {len(scores)} values for {len(documents)} documents; "
            "they must be aligned (null where a document has no teacher score)"
        )
    row = RerankingRow(
        query_id=str(record.get("query_id") if record.get("query_id") is not None else f"q{index}"),
        query=record["query"],
        positive=[positive] if isinstance(positive, str) else list(positive or []),
        negative=list(record.get("negative") or []),
        documents=documents,
        document_ids=document_ids,
        scores=scores,
    )
    _check_texts(row, index)
    return row


def _check_texts(row: RerankingRow, index: int) -> None:
    """Raise InputError naming the row and column of a query or document that is not text (null, NaN)."""
    if not isinstance(row.query, str):
        raise InputError(
            f"row {index} (query_id {row.query_id}): query is {row.query!r}, not text; "
            "fill it or drop the row"
        )
    for column in ("positive", "negative", "documents"):
        for document in getattr(row, column):
            if not isinstance(document, str):
                raise InputError(
                    f"row {index} (query_id {row.query_id}): {column} holds {document!r}, not text; "
                    "every document must be a string (drop the null entries)"
                )


def _load_local(path: Path, config: str | None, split: str) -> tuple[Any, str]:
    import datasets

    if path.is_file():
        builder = FILE_BUILDERS.get(path.suffix)
        if builder is None:
            raise InputError(f"{path}: unsupported file type; give a .parquet or .jsonl file, or a folder")
        return datasets.load_dataset(builder, data_files={split: str(path)}, split=split), "default"
    if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
        loaded = datasets.load_from_disk(str(path))
        if isinstance(loaded, datasets.DatasetDict):
            if split not in loaded:
                raise InputError(f"{path} has no split {split!r}; it has {', '.join(loaded)} (--split)")
            return loaded[split], "default"
        return loaded, "default"
    config = _config_with_split(str(path), config, split)
    return load_dataset_split(str(path), config, split), config


def _load_hub(repo_id: str, revision: str, config: str | None, split: str) -> tuple[Any, str]:
    config = _config_with_split(repo_id, config, split, revision)
    return load_dataset_split(repo_id, config, split, revision), config


def _config_with_split(dataset: str, config: str | None, split: str, revision: str | None = None) -> str:
    """``config``, or the only config that has ``split``; InputError listing configs or splits otherwise."""
    layout = dataset_layout(dataset, revision)
    if config is not None and config not in layout:
        raise InputError(f"{dataset} has no config {config!r}; it has {', '.join(layout)} (--config)")
    splits = {name: names for name, names in layout.items() if config is None or name == config}
    having = [name for name, names in splits.items() if split in names]
    if len(having) == 1:
        return having[0]
    if having:
        raise InputError(
            f"{dataset} has split {split!r} in configs {', '.join(having)}; choose one with --config"
        )
    known = sorted({name for names in splits.values() for name in names})
    where = f" config {config!r}" if config else ""
    raise InputError(f"{dataset}{where} has no split {split!r}; it has {', '.join(known)} (--split)")
