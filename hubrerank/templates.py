"""Card templates: the Jinja files in model_cards/ and dataset_cards/, rendered strictly.

The templates are plain files so a reader sees a card's shape without reading Python. In a wheel
they ship inside the package (``hubrerank/model_cards``, via pyproject's force-include); in a source
checkout they sit at the repository root. Rendering uses StrictUndefined, so a template that names a
value the code did not pass fails loudly instead of printing an empty cell.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

import jinja2

TemplateKind = Literal["model_cards", "dataset_cards"]
_PACKAGE_DIR = Path(__file__).resolve().parent


def template_dir(kind: TemplateKind) -> Path:
    """The folder holding ``kind`` templates: inside the installed package first, else the repo root."""
    for folder in (_PACKAGE_DIR / kind, _PACKAGE_DIR.parent / kind):
        if folder.is_dir():
            return folder
    raise FileNotFoundError(f"no {kind}/ folder in {_PACKAGE_DIR} or its parent; reinstall hubrerank")


@cache
def _environment(folder: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render_template(kind: TemplateKind, name: str, **context: Any) -> str:
    """Render template ``name`` (e.g. ``"model_card.md"``) of ``kind`` with ``context``."""
    return _environment(template_dir(kind)).get_template(name).render(**context)
