"""The example card in model_cards/ is what the templates render today, to the byte.

It shows a reader the model cards hubrerank publishes, and it pins the rendering: a refactor that changes
one byte of the card for the same inputs fails here. After an intended change to the card, regenerate it
with ``HUBRERANK_UPDATE_GOLDEN=1 pytest tests/cards/test_golden_cards.py`` (dataset card:
``tests/data/test_golden_dataset_card.py``) and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

from card_fixtures import write_model_dir

from hubrerank.cards.model_card import render_model_card

ROOT = Path(__file__).resolve().parents[2]
UPDATE = os.environ.get("HUBRERANK_UPDATE_GOLDEN") == "1"


def _check(text: str, golden: Path) -> None:
    if UPDATE:
        golden.write_text(text, encoding="utf-8")
    assert golden.is_file(), f"{golden} is missing; regenerate with HUBRERANK_UPDATE_GOLDEN=1"
    assert text == golden.read_text(encoding="utf-8"), f"{golden.name} changed; see this module's docstring"


def test_model_card_example(tmp_path: Path) -> None:
    model_dir = write_model_dir(tmp_path / "faq-reranker")
    card = render_model_card(model_dir, "acme/faq-reranker", revision="5" * 40)
    _check(str(card), ROOT / "model_cards" / "faq-reranker.md")
