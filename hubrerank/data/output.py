"""Write a built dataset (:class:`~hubrerank.data.build.BuiltData`): its parquet files, README card and
metadata, into a folder (``--out``) or as one commit on the Hub (``--push``).

Everything is written to a temporary folder first: a failure leaves ``--out`` untouched and pushes nothing.
Same source, options and seed give byte-identical parquet files (pyarrow with fixed settings, no timestamps).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hubrerank.cards.dataset_card import render_card
from hubrerank.data.build import BuiltData
from hubrerank.data.validate import METADATA_FILE
from hubrerank.errors import InputError
from hubrerank.paths import check_writable
from hubrerank.refs import ResolvedRef

PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "row_group_size": 10_000,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
}


def write_files(
    built: BuiltData, folder: Path, *, push: str | None = None, out: str | None = None
) -> list[Path]:
    """Write the parquet files, README.md and the metadata into ``folder``; return the written paths."""
    import pyarrow.parquet as pq

    (folder / "data").mkdir(parents=True, exist_ok=True)
    metadata = {**built.metadata, "command": built.command(push=push, out=out)}
    written = []
    for name, table in built.tables.items():
        path = folder / built.metadata["files"][name]
        pq.write_table(table, path, **PARQUET_OPTIONS)
        written.append(path)
    card = folder / "README.md"
    card.write_text(render_card(metadata, built.tables, repo_id=push), encoding="utf-8")
    meta = folder / METADATA_FILE
    meta.write_text(
        json.dumps(metadata, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return [*written, card, meta]


def check_out_folder(out: Path) -> None:
    """Refuse an --out that cannot be written, or that holds files a build would delete: anything but an
    earlier build's ``data/*.parquet``, README.md and metadata (a rebuild replaces the folder whole)."""
    check_writable(out, "--out")
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; pick a new or empty folder")
    if not out.exists() or not any(out.iterdir()):
        return
    if not (out / METADATA_FILE).is_file():
        raise InputError(
            f"--out {out} exists and is not a hubrerank dataset folder; pick a new or empty folder"
        )
    ours = {out / "README.md", out / METADATA_FILE, out / "data"}
    other = next(
        (
            path
            for path in sorted(out.rglob("*"))
            if path not in ours and not (path.parent == out / "data" and path.suffix == ".parquet")
        ),
        None,
    )
    if other is not None:
        raise InputError(
            f"--out {out} holds {other.relative_to(out)}, which rebuilding the dataset there would delete; "
            "move it away or pick another folder"
        )


def write_local(built: BuiltData, out: Path) -> Path:
    """Write into a temporary sibling of ``out``, then rename it into place (replacing an earlier build)."""
    out = out.resolve()
    check_out_folder(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)
    try:
        write_files(built, staging, out=out.name)
        if out.exists():
            previous = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            out.rename(previous / out.name)
            staging.rename(out)
            shutil.rmtree(previous)
        else:
            staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return out


def push_dataset(
    built: BuiltData, repo_id: str, *, private: bool = False, tag: str | None = None
) -> ResolvedRef:
    """Publish data, README.md and metadata to ``repo_id`` in one commit; the repo then holds only these."""
    from hubrerank.hub import publish

    with tempfile.TemporaryDirectory(prefix="hubrerank-push-") as staging:
        folder = Path(staging)
        paths = write_files(built, folder, push=repo_id)
        files = {p.relative_to(folder).as_posix(): p for p in paths}
        source = built.metadata["source"]["name"]
        return publish(
            repo_id,
            files,
            repo_type="dataset",
            message=f"hubrerank data build from {source}",
            private=private,
            tag=tag,
            delete_missing=True,
        )
