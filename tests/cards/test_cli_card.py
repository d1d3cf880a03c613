"""`hubrerank card`: from a folder (print, --out) and from a repo on the local Hub (--push), and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from card_fixtures import write_model_dir
from helpers import run_cli


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return write_model_dir(tmp_path / "faq-reranker")


def test_card_of_a_folder_is_printed(model_dir: Path) -> None:
    result = run_cli("card", str(model_dir))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("---\n")
    assert "# faq-reranker" in result.output
    assert "hubrerank reproduce ORG/NAME@<this commit>" in result.output
    assert "it is not on the Hub yet" in result.output


def test_card_of_a_folder_is_written_to_out(model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "README.md"
    result = run_cli("card", str(model_dir), "--repo", "acme/faq-reranker", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert 'CrossEncoder("acme/faq-reranker")' in out.read_text()


@pytest.mark.parametrize("missing", ["hubrerank.yaml", "eval_results.json"])
def test_folder_without_inputs_is_a_one_line_error(model_dir: Path, missing: str) -> None:
    (model_dir / missing).unlink()
    result = run_cli("card", str(model_dir))
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert f"Error: {missing} not found in {model_dir}" in result.output
    assert "hubrerank train" in result.output


def test_push_of_a_folder_needs_a_repo(model_dir: Path) -> None:
    result = run_cli("card", str(model_dir), "--push")
    assert result.exit_code == 2
    assert "--push needs --repo ORG/NAME" in result.output
