"""The demo's recipe is a valid recipe (the demo itself runs real models: `make demo`, not the suite)."""

from __future__ import annotations

from pathlib import Path

from hubrerank.demo import RECIPE
from hubrerank.recipe import load_recipe


def test_the_demo_recipe_distils_the_teacher_scores(tmp_path: Path) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE.format(base="me/all-MiniLM-L6-v2", data="me/construction-faq-reranking"))
    recipe = load_recipe(path)
    assert recipe.loss.name == "MSELoss"
    assert recipe.loss.labels[0] == "score"
    assert recipe.base_model["repo"] == "me/all-MiniLM-L6-v2"
    assert recipe.evaluation["reranking"][0]["split"] == "test"
