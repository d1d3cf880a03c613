"""The demo's recipe and the release recipe are valid and the same recipe (the demo itself runs real
models: `make demo`, not the suite)."""

from __future__ import annotations

from pathlib import Path

from hubrerank.demo import RECIPE, RETRIEVER_RECIPE, SPARSE_RECIPE
from hubrerank.training.recipe import Recipe, load_recipe

ROOT = Path(__file__).resolve().parents[1]


def demo_recipe(tmp_path: Path, base: str, data: str) -> Recipe:
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE.format(base=base, data=data))
    return load_recipe(path)


def test_the_demo_recipe_distils_the_teacher_scores(tmp_path: Path) -> None:
    recipe = demo_recipe(tmp_path, "me/all-MiniLM-L6-v2", "me/construction-faq-reranking")
    assert recipe.loss.name == "ListNetLoss"
    assert recipe.train[0]["label_column"] == "scores"
    assert recipe.train[0]["label_scale"] == 20
    assert recipe.base_model["repo"] == "me/all-MiniLM-L6-v2"
    assert recipe.evaluation["reranking"][0]["split"] == "test"


def test_the_release_workflow_trains_the_demo_recipe(tmp_path: Path) -> None:
    assert "recipes/release.yaml" in (ROOT / ".github" / "workflows" / "release.yml").read_text()
    release = load_recipe(ROOT / "recipes" / "release.yaml")
    demo = demo_recipe(tmp_path, "sentence-transformers/all-MiniLM-L6-v2", "ORG/construction-faq-reranking")
    assert release.as_requested() == demo.as_requested()


def test_the_demo_retriever_recipe_is_seed_003s_fine_tune(tmp_path: Path, tiny_bi_encoder) -> None:
    path = tmp_path / "retriever.yaml"
    path.write_text(
        RETRIEVER_RECIPE.format(
            base=tiny_bi_encoder.repo_id,  # model.kind: auto reads the base model's kind from the Hub
            pairs="me/construction-faq-pairs",
            retrieval="me/construction-faq-retrieval",
        )
    )
    recipe = load_recipe(path)
    assert recipe.kind.name == "bi-encoder"
    assert recipe.base_model["revision"] == tiny_bi_encoder.sha
    assert recipe.loss.name == "MultipleNegativesRankingLoss"
    assert recipe.args["batch_sampler"] == "no_duplicates"
    assert recipe.args["num_train_epochs"] == 3 and recipe.args["per_device_train_batch_size"] == 32
    assert recipe.evaluation["retrieval"][0] == {
        "dataset": "me/construction-faq-retrieval",
        "revision": "main",
        "config": None,
        "split": "test",
        "at_k": 10,
    }


def test_the_demo_sparse_recipe_trains_a_csr_model_as_the_retriever_is_trained(tmp_path: Path) -> None:
    """The sparse first stage: MiniLM as a CSR model, CSRLoss around SparseMNRL at MiniLM's scale, on the
    retriever's pairs with the retriever's settings, judged on the same retrieval split."""
    names = {"base": "me/all-MiniLM-L6-v2", "pairs": "me/construction-faq-pairs"}
    names["retrieval"] = "me/construction-faq-retrieval"
    recipes = []
    for name, text in (
        ("sparse", SPARSE_RECIPE),
        ("retriever", RETRIEVER_RECIPE.replace("auto", "bi-encoder")),
    ):
        (tmp_path / f"{name}.yaml").write_text(text.format(**names))
        recipes.append(load_recipe(tmp_path / f"{name}.yaml"))
    sparse, retriever = recipes
    assert sparse.kind.name == "sparse-encoder"
    assert sparse.document["loss"]["name"] == "CSRLoss"
    assert sparse.document["loss"]["inner"] == {
        "name": "SparseMultipleNegativesRankingLoss",
        "params": {"scale": 20.0},
    }
    assert sparse.loss.name == "SparseMultipleNegativesRankingLoss"
    for section in ("seed", "base_model", "train", "args", "evaluation"):
        assert sparse.document[section] == retriever.document[section], section


def test_the_demo_ends_with_the_faq_test_split_as_a_benchmark(hub, tmp_path: Path, capsys) -> None:
    """The demo's last step, on a FAQ dataset and a trained reranker's card sources pushed here."""
    import importlib.util
    import json

    from huggingface_hub import HfApi

    from hubrerank.demo import register_benchmark
    from hubrerank.evaluation.definitions import installed_definition

    spec = importlib.util.spec_from_file_location(
        "card_fixtures", ROOT / "tests" / "cards" / "card_fixtures.py"
    )
    assert spec is not None and spec.loader is not None
    fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixtures)  # the cards' model folder: recipe, results, log
    api = HfApi(endpoint=hub.url, token=hub.alice_token)
    data, model = "alice/demo-faq-reranking", "alice/demo-faq-reranker"
    api.create_repo(data, repo_type="dataset")
    card = "---\nconfigs: [{config_name: default, data_files: [{split: test, path: t.parquet}]}]\n---\n"
    api.upload_file(
        path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=data, repo_type="dataset"
    )
    results = json.loads(json.dumps(fixtures.EVAL_RESULTS).replace("acme/construction-faq", data))
    for result in results["results"]:  # as a fresh training run records it
        result.setdefault("metric_definition", installed_definition())
    folder = fixtures.write_model_dir(tmp_path / "reranker", eval_results=results)
    api.create_repo(model)
    api.upload_folder(folder_path=folder, repo_id=model)

    register_benchmark(data, model)
    out = capsys.readouterr().out
    board = out[out.index("$ hubrerank leaderboard") :].splitlines()[1:]
    definition = installed_definition()
    assert [line.split()[0] for line in board[1:]] == [
        f"default/test/ndcg@10/{definition}",
        f"default/test/realistic_ndcg@10/{definition}",
    ]
    head = api.repo_info(model).sha
    assert all(f"{model}@{head[:12]}" in line and "self-reported" in line for line in board[1:])
