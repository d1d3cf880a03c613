"""Cards of models on the local Hub: `hubrerank card REPO`, --push in one commit, inherited metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from card_fixtures import RECIPE, write_model_dir
from helpers import LocalHub, run_cli

from hubrerank.cards.model_card import render_model_card
from hubrerank.hub import publish


def _push_model(repo_id: str, folder: Path) -> str:
    files = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()}
    return publish(repo_id, files, message="Add model").sha


def _commits(repo_id: str) -> list[str]:
    from huggingface_hub import HfApi

    return [commit.commit_id for commit in HfApi().list_repo_commits(repo_id)]


def test_card_of_a_repo_pins_the_commit_it_was_read_at(hub: LocalHub, tmp_path: Path) -> None:
    folder = write_model_dir(tmp_path / "faq-reranker")
    (folder / "reproductions").mkdir()
    report = {"kind": "verify", "verdict": "PASS", "timestamp": "2026-11-24T10:00:00Z", "rows": []}
    (folder / "reproductions" / "verify-1.json").write_text(json.dumps(report))
    sha = _push_model("alice/card-print", folder)
    result = run_cli("card", "alice/card-print")
    assert result.exit_code == 0, result.output
    assert f'CrossEncoder("alice/card-print", revision="{sha}")' in result.output
    assert f"hubrerank verify alice/card-print@{sha}" in result.output
    assert "Verification (re-evaluation): PASS" in result.output
    assert hub.url not in result.output


def test_push_adds_exactly_one_commit(hub: LocalHub, tmp_path: Path) -> None:
    from huggingface_hub import HfApi, ModelCard
    from huggingface_hub.repocard_data import model_index_to_eval_results

    sha = _push_model("alice/card-push", write_model_dir(tmp_path / "faq-reranker"))
    before = _commits("alice/card-push")
    result = run_cli("card", f"alice/card-push@{sha}", "--push")
    assert result.exit_code == 0, result.output
    after = _commits("alice/card-push")
    assert len(after) == len(before) + 1
    assert result.output == f"alice/card-push@{after[0]}\n"
    files = HfApi().list_repo_files("alice/card-push", revision=after[0])
    assert {"README.md", "model.safetensors", "hubrerank.yaml"} <= set(files)
    assert [f for f in files if f.startswith(".eval_results/")] == [
        ".eval_results/nanobeir-sentence-transformers--NanoBEIR-en-3-subsets.yaml",
        ".eval_results/reranking-acme--construction-faq-default-test.yaml",
    ]
    card = ModelCard.load("alice/card-push")
    assert f'revision="{sha}"' in card.text
    name, results = model_index_to_eval_results(card.data.to_dict()["model-index"])
    assert name == "alice/card-push" and len(results) > 10


def test_push_of_an_old_commit_is_refused(hub: LocalHub, tmp_path: Path) -> None:
    old = _push_model("alice/card-moved", write_model_dir(tmp_path / "faq-reranker"))
    publish("alice/card-moved", {"notes.txt": b"newer weights"}, message="Move on")
    before = _commits("alice/card-moved")
    result = run_cli("card", f"alice/card-moved@{old}", "--push")
    assert result.exit_code == 2
    assert f"alice/card-moved@{old} is not the head of main" in result.output
    assert _commits("alice/card-moved") == before


def test_repo_without_card_sources_is_a_one_line_error(hub: LocalHub) -> None:
    publish("alice/plain-model", {"config.json": b"{}"}, message="Add config")
    result = run_cli("card", "alice/plain-model")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "model repo alice/plain-model@" in result.output and "has no hubrerank.yaml" in result.output


def test_unknown_repo_is_a_one_line_error(hub: LocalHub) -> None:
    result = run_cli("card", "alice/no-such-model")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "alice/no-such-model not found" in result.output


@pytest.mark.parametrize("language", ["en", ["en", "es"]])
def test_license_and_language_come_from_the_base_model(hub: LocalHub, tmp_path: Path, language) -> None:
    import yaml
    from huggingface_hub import ModelCard

    header = yaml.safe_dump({"license": "mit", "language": language})
    base = publish(
        "alice/base-with-card", {"README.md": f"---\n{header}---\n# base\n".encode()}, message="card"
    )
    recipe = RECIPE | {
        "base_model": {"repo": "alice/base-with-card", "revision": base.sha, "requested": "main"}
    }
    folder = write_model_dir(tmp_path / "m", recipe=recipe)
    data = render_model_card(folder, "alice/m").data
    assert data.license == "mit"
    assert data.language == ([language] if isinstance(language, str) else language)
    assert ModelCard(str(render_model_card(folder, "alice/m"))).data.base_model == "alice/base-with-card"


def test_the_training_datas_license_and_language_win_over_the_base_models(
    hub: LocalHub, tmp_path: Path
) -> None:
    def card(metadata: dict) -> bytes:
        import yaml

        return f"---\n{yaml.safe_dump(metadata)}---\n# card\n".encode()

    base = publish(
        "alice/base-apache", {"README.md": card({"license": "apache-2.0", "language": "en"})}, message="c"
    )
    data = publish(
        "alice/zh-faq",
        {"README.md": card({"license": "cc-by-4.0", "language": "zh"})},
        message="c",
        repo_type="dataset",
    )
    recipe = RECIPE | {
        "base_model": {"repo": "alice/base-apache", "revision": base.sha, "requested": "main"},
        "train": [{"dataset": "alice/zh-faq", "revision": data.sha, "requested": "main", "split": "train"}],
    }
    folder = write_model_dir(tmp_path / "zh", recipe=recipe)

    card_text = str(render_model_card(folder, "alice/zh-reranker"))

    metadata = render_model_card(folder, "alice/zh-reranker").data
    assert (metadata.license, metadata.language) == ("cc-by-4.0", ["zh"])
    assert (
        "Its license `cc-by-4.0` (from the card of the training dataset alice/zh-faq) and language `zh` "
        "(from the card of the training dataset alice/zh-faq)." in card_text
    )
