"""`hubrerank ci init`: the workflows and recipe it writes, and the project's own workflows (same source)."""

from __future__ import annotations

from pathlib import Path

from helpers import run_cli
from test_workflows import _actionlint

from hubrerank.reproducibility.ci import CiSettings, render_ci_files

ROOT = Path(__file__).resolve().parents[2]
# hubrerank's own .github files are these templates rendered with these settings; regenerate them with
#   hubrerank ci init --install-spec . --recipe recipes/release.yaml --force
PROJECT_SETTINGS = CiSettings(install_spec=".", recipe="recipes/release.yaml")
WORKFLOWS = [".github/workflows/release.yml", ".github/workflows/reproduce.yml"]


def test_ci_init_writes_the_workflows_and_a_recipe_and_refuses_to_overwrite(tmp_path):
    result = run_cli("ci", "init", "--dir", str(tmp_path), "--repo", "acme/reranker")

    assert result.exit_code == 0, result.output
    for path in [*WORKFLOWS, ".github/reproduce-repos.txt", ".github/hubrerank-lock.txt", "recipe.yaml"]:
        assert (tmp_path / path).is_file(), path
    lock = (tmp_path / ".github/hubrerank-lock.txt").read_text()
    assert "torch==2.13.0+cpu \\\n    --hash=sha256:" in lock and "sentence-transformers==" in lock
    assert "--require-hashes --no-deps" in (tmp_path / WORKFLOWS[0]).read_text()
    release = (tmp_path / WORKFLOWS[0]).read_text()
    assert "REPO_ID: ${{ inputs.repo || 'acme/reranker' }}" in release
    assert 'HUBRERANK_SPEC: "hubrerank==' in release

    again = run_cli("ci", "init", "--dir", str(tmp_path))
    assert again.exit_code == 2
    assert "already exist" in again.output and "--force" in again.output

    (tmp_path / "recipe.yaml").write_text("my own recipe\n")
    forced = run_cli("ci", "init", "--dir", str(tmp_path), "--force")
    assert forced.exit_code == 0, forced.output
    assert "overwrote" in forced.output and "kept" in forced.output
    assert (tmp_path / "recipe.yaml").read_text() == "my own recipe\n"
    assert "acme/reranker" not in (tmp_path / WORKFLOWS[0]).read_text()


def test_ci_init_output_is_actionlint_clean(tmp_path):
    assert run_cli("ci", "init", "--dir", str(tmp_path), "--repo", "acme/reranker").exit_code == 0

    result = _actionlint(*(tmp_path / path for path in WORKFLOWS))

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_recipe_template_is_a_valid_recipe(tmp_path):
    from hubrerank.training.recipe import load_recipe

    assert run_cli("ci", "init", "--dir", str(tmp_path)).exit_code == 0

    recipe = load_recipe(tmp_path / "recipe.yaml")

    assert recipe.loss.name == "BinaryCrossEntropyLoss" and recipe.evaluation["reranking"]


def test_the_project_workflows_are_the_rendered_templates():
    for path, text in render_ci_files(PROJECT_SETTINGS).items():
        assert (ROOT / path).read_text() == text, f"{path} differs from its template; regenerate it"


def test_settings_that_would_break_the_workflow_are_refused(tmp_path):
    for option in (["--repo", "acme/x@main"], ["--recipe", "my recipe.yaml"], ["--hub-url", "nowhere"]):
        result = run_cli("ci", "init", "--dir", str(tmp_path), *option)
        assert result.exit_code == 2, option
    assert not (tmp_path / ".github").exists()
