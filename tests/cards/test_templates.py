"""Card templates are found in the installed package first, and render strictly."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from hubrerank import templates


def test_package_folder_wins_over_the_repo_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site-packages" / "hubrerank"
    (package / "model_cards").mkdir(parents=True)
    (package / "model_cards" / "t.md").write_text("{% if x %}\npackaged {{ x }}\n{% endif %}\n")
    (tmp_path / "site-packages" / "model_cards").mkdir()
    (tmp_path / "site-packages" / "model_cards" / "t.md").write_text("repo root\n")
    monkeypatch.setattr(templates, "_PACKAGE_DIR", package)
    assert templates.render_template("model_cards", "t.md", x=1) == "packaged 1\n"


def test_repo_root_is_the_fallback() -> None:
    assert templates.template_dir("model_cards") == Path(__file__).resolve().parents[2] / "model_cards"


def test_undefined_values_fail_loudly() -> None:
    with pytest.raises(jinja2.UndefinedError, match="card_data"):
        templates.render_template("model_cards", "model_card.md")
