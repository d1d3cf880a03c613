"""Durable writes to the embedded Hub's data dir: every file through a fsynced temp file and
``os.replace``, folders 0700 and files 0600, ``flock`` locks, and one-line messages for what could not be
written (a full disk named as such)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FILE_MODE, DIR_MODE = 0o600, 0o700
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def make_dirs(path: Path) -> None:
    """``mkdir -p`` that creates every missing level 0700 (``Path.mkdir`` ignores the mode for parents)."""
    if path.is_dir():
        return
    make_dirs(path.parent)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=DIR_MODE)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """Write ``data`` to ``path`` so that readers (and a crash) see either the old or the new file.

    An OSError names ``path`` (not the temp file it was writing), so that messages say what could
    not be written.
    """
    try:
        make_dirs(path.parent)
        tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(path.parent)
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(path)) from error


def write_error(error: OSError) -> str:
    """What could not be written and why, for a one-line message: ``PATH: reason``."""
    reason = error.strerror or str(error)
    if error.errno in DISK_FULL_ERRNOS:
        reason = f"the disk is full ({reason})"
    return f"{error.filename}: {reason}" if error.filename else reason


def data_dir_error(data_dir: Path, error: OSError) -> str:
    """The one-line message for data dir ``data_dir`` that could not be written at start."""
    if error.errno in DISK_FULL_ERRNOS:
        return f"cannot write {write_error(error)}; free space, or choose another data dir with --data"
    return f"data dir {data_dir} is not writable ({write_error(error)}); choose another with --data"


def write_json_atomic(path: Path, data: Any, mode: int = FILE_MODE) -> None:
    write_atomic(path, json.dumps(data, indent=1, sort_keys=True).encode(), mode)


@contextlib.contextmanager
def file_lock(path: Path, shared: bool = False) -> Iterator[None]:
    """An exclusive (or shared) lock between threads and processes (flock on a dedicated lock file)."""
    make_dirs(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
