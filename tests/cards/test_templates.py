"""Card templates ship inside the package and render strictly."""

from __future__ import annotations

import jinja2
import pytest

from hubrerank.cards import render


def test_templates_live_in_the_package() -> None:
    assert render.TEMPLATE_DIR.parent.name == "cards"
    for name in (render.MODEL_CARD_TEMPLATE, render.DATASET_CARD_TEMPLATE):
        assert (render.TEMPLATE_DIR / name).is_file()


def test_undefined_values_fail_loudly() -> None:
    with pytest.raises(jinja2.UndefinedError, match="card_data"):
        render.render_template(render.MODEL_CARD_TEMPLATE)
