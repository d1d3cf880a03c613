"""Local output paths: refuse, before any long work, one that cannot be written."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hubrerank.errors import InputError


def check_writable(path: Path, option: str) -> None:
    """Raise InputError naming ``option`` unless a file can be created where ``path`` will be written
    (checked in its nearest existing folder, since ``path`` and its parents may not exist yet)."""
    parent = next((folder for folder in (path, *path.parents) if folder.is_dir()), Path.cwd())
    try:
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as error:
        raise InputError(
            f"{option} {path} cannot be written ({parent}: {error.strerror or error}); choose another path"
        ) from None
