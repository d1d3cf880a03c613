"""A Hub dataset ``REPO[@REVISION]``, pinned to a sha: special layouts are read as local folders, tables
through datasets."""

from __future__ import annotations

from pathlib import Path

from hubrerank.data.sources.beir import beir_files
from hubrerank.data.sources.common import SPLIT_ALIASES, ColumnHints, SourceData, concat
from hubrerank.data.sources.local import read_local
from hubrerank.data.sources.tables import from_table
from hubrerank.data.sources.wikiqa import is_wikiqa
from hubrerank.errors import InputError
from hubrerank.hub import first_line


def read_hub(source: str, format: str | None, config: str | None, hints: ColumnHints) -> SourceData:
    """A Hub dataset, pinned to a sha: special layouts are read as folders, tables through datasets."""
    from hubrerank.errors import RefError
    from hubrerank.hub import download, resolve
    from hubrerank.refs import Ref

    try:
        ref = Ref.parse(source, "dataset")
    except RefError:
        raise InputError(
            f"{source} is neither a local file or folder nor a Hub dataset REPO[@REVISION]"
        ) from None
    resolved = resolve(ref)
    folder = download(resolved)
    name = str(resolved)
    license = _card_license(folder / "README.md")
    provenance = {"kind": "hub", **resolved.as_dict(), "config": config}
    if (
        is_wikiqa(folder)
        or (format in (None, "beir") and beir_files(folder) is not None)
        or format == "llamaindex"
    ):
        data = read_local(folder, format, hints)
    else:
        data = _read_hub_tables(folder, name, format, config, hints)
    data.name, data.provenance, data.license = name, provenance, license
    return data


def _read_hub_tables(
    folder: Path, name: str, format: str | None, config: str | None, hints: ColumnHints
) -> SourceData:
    import datasets

    try:
        loaded = datasets.load_dataset(str(folder), name=config)
    except ValueError as error:
        raise InputError(f"{name}: cannot load config {config!r}: {first_line(error)}") from None
    parts = []
    for split_name, dataset in loaded.items():
        split = SPLIT_ALIASES.get(split_name.lower())
        if split is None:
            raise InputError(
                f"{name}: unknown split {split_name!r}; hubrerank knows train, dev/validation and test"
            )
        table = dataset.data.table
        if table.num_rows == 0:
            continue
        parts.append(from_table(f"{name} split {split_name}", table, format, hints, split))
    if not parts:
        raise InputError(f"{name} has no rows")
    return concat(name, parts)


def _card_license(readme: Path) -> str | None:
    if not readme.is_file():
        return None
    from huggingface_hub import DatasetCard

    license = DatasetCard.load(readme).data.to_dict().get("license")
    return ", ".join(license) if isinstance(license, list) else license
