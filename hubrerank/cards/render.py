"""Card templates: the Jinja files in ``hubrerank/cards/templates/``, rendered strictly.

The templates are plain files so a reader sees a card's shape without reading Python. The model card
renders with StrictUndefined, so a template that names a value the code did not pass fails loudly
instead of printing an empty cell, and with block tags on lines of their own (``trim_blocks``). The
dataset card's template was written for Jinja's defaults (optional statistics print empty) and keeps them.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
MODEL_CARD_TEMPLATE = "model_card.md"
DATASET_CARD_TEMPLATE = "dataset_card.md.j2"
RETRIEVAL_CARD_TEMPLATE = "retrieval_dataset_card.md.j2"
_STRICT = {MODEL_CARD_TEMPLATE: True, DATASET_CARD_TEMPLATE: False}


@cache
def _environment(strict: bool) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined if strict else jinja2.Undefined,
        trim_blocks=strict,
        lstrip_blocks=strict,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render_template(name: str, **context: Any) -> str:
    """Render template ``name`` (``MODEL_CARD_TEMPLATE`` or ``DATASET_CARD_TEMPLATE``) with ``context``."""
    return _environment(_STRICT.get(name, True)).get_template(name).render(**context)
