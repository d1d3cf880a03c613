"""The example card in dataset_cards/ is what the template renders today, to the byte (see
tests/cards/test_golden_cards.py for how to regenerate it after an intended change)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from helpers import run_cli

ROOT = Path(__file__).resolve().parents[2]
UPDATE = os.environ.get("HUBRERANK_UPDATE_GOLDEN") == "1"
# the golden cards name fixed library releases, so that moving the lock does not rewrite them
RELEASES = {"sentence_transformers": "6.3.0", "transformers": "5.25.0", "torch": "2.13.0+cpu"}


@pytest.fixture(autouse=True)
def fixed_releases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hubrerank.data.build.installed_versions", lambda keys: dict(RELEASES))


def test_dataset_card_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qa_csv: Path) -> None:
    source = tmp_path / "construction-faq.csv"
    shutil.copy(qa_csv, source)
    monkeypatch.chdir(tmp_path)
    result = run_cli("data", "build", source.name, "--out", "out", "--test-size", "2", "--eval-size", "2")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    golden = ROOT / "dataset_cards" / "faq.md"
    if UPDATE:
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), "dataset_cards/faq.md changed; regenerate and review"


def test_retrieval_dataset_card_example(monkeypatch: pytest.MonkeyPatch, llamaindex_json: Path) -> None:
    monkeypatch.chdir(llamaindex_json.parent)  # the card names the source by its file name
    args = ("--output-format", "retrieval", "--test-size", "4", "--eval-size", "2")
    result = run_cli("data", "build", llamaindex_json.name, "--out", "out", *args)
    assert result.exit_code == 0, result.output
    text = (llamaindex_json.parent / "out" / "README.md").read_text(encoding="utf-8")
    golden = ROOT / "dataset_cards" / "llamaindex-retrieval.md"
    if UPDATE:
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), (
        "dataset_cards/llamaindex-retrieval.md changed; regenerate and review"
    )
