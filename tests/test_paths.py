"""Output paths that cannot be written are refused before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from hubrerank.errors import InputError
from hubrerank.paths import check_writable


def test_a_new_path_under_a_writable_folder_is_fine(tmp_path: Path) -> None:
    check_writable(tmp_path / "new" / "deeper" / "out.json", "--json")
    assert not (tmp_path / "new").exists()  # nothing is created by the check


def test_an_unwritable_place_is_one_line_naming_the_option() -> None:
    with pytest.raises(InputError, match=r"^--json /proc/hubrerank/x.json cannot be written \(/proc: "):
        check_writable(Path("/proc/hubrerank/x.json"), "--json")
