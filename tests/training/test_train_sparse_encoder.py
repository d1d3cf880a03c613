"""`hubrerank train` of a sparse encoder (SPLADE) on the local Hub: a masked-LM base trained with
SpladeLoss around a sparse ranking loss, its retrieval and sparsity, the record, the card, byte-identical
re-runs, model.kind: auto, a CSR model from a bi-encoder (CSRLoss), and base models of another kind."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from factories import (
    build_tiny_bi_encoder,
    build_tiny_cross_encoder,
    build_tiny_mlm_base,
    build_tiny_sparse_encoder,
)
from helpers import run_cli
from training_helpers import TOPICS, make_recipe, push_folder, training_repos, weights_sha256

SPARSE = {"kind": "sparse-encoder", "max_length": 32}
SPLADE = {
    "name": "SpladeLoss",
    "params": {"document_regularizer_weight": 3e-5, "query_regularizer_weight": 5e-5},
    "inner": {"name": "SparseMNRL"},
}


@pytest.fixture(scope="module")
def mlm_base(hub, tmp_path_factory) -> str:
    """A tiny BertForMaskedLM checkpoint pushed as alice/tiny-mlm-base: what a SPLADE model starts from."""
    push_folder("alice/tiny-mlm-base", build_tiny_mlm_base(tmp_path_factory.mktemp("mlm") / "base"))
    return "alice/tiny-mlm-base"


def sparse_recipe(tmp_path, model, loss=None, form="tuples", kind=SPARSE, name="tiny"):
    path = make_recipe(
        tmp_path,
        model,
        training_repos(),
        form=form,
        loss=loss or SPLADE,
        args={"batch_sampler": "no_duplicates"},
        name=name,
    )
    recipe = yaml.safe_load(path.read_text())
    recipe["model"] = kind
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def test_splade_trains_a_sparse_encoder_and_records_retrieval_and_sparsity(mlm_base, tmp_path):
    data = training_repos()
    out = tmp_path / "out"

    result = run_cli("train", str(sparse_recipe(tmp_path, mlm_base)), "--out", str(out))

    assert result.exit_code == 0, result.output
    assert "model.kind: sparse-encoder" in result.output
    assert re.search(r"step 3/6  eval tiny-reranking-test: .* dot_ndcg@10 [0-9.]+ ", result.output)
    assert f":test retrieval over {len(TOPICS)} documents, {len(TOPICS)} queries: ndcg@10 " in result.output
    assert "active dims: queries " in result.output
    modules = json.loads((out / "modules.json").read_text())
    assert modules[-1]["type"].endswith("SpladePooling")
    record = yaml.safe_load((out / "hubrerank.yaml").read_text())
    assert record["model"] == SPARSE
    assert record["loss"]["name"] == "SpladeLoss"
    assert record["loss"]["inner"] == {"name": "SparseMultipleNegativesRankingLoss", "params": {}}
    [retrieval] = json.loads((out / "eval_results.json").read_text())["results"]
    assert retrieval["task"] == "retrieval" and retrieval["similarity"] == "dot"
    assert retrieval["metrics"]["corpus_active_dims"] > 0
    assert record["metrics"][f"{data['reranking']}:test/ndcg@10"] == retrieval["metrics"]["ndcg@10"]
    # the kept checkpoint is the best by the in-training SparseInformationRetrievalEvaluator
    assert retrieval["metrics"]["ndcg@10"] == pytest.approx(record["training"]["best_metric"], abs=1e-6)
    card = (out / "README.md").read_text()
    assert "pipeline_tag: feature-extraction" in card and "- sparse-encoder" in card
    assert "- splade\n" in card and "- csr\n" not in card  # tagged by its modules, as the library tags it
    assert "**sparse encoder retriever**" in card and "### Retrieval: " in card
    assert "SparseEncoder(" in card and "CrossEncoder" not in card


@pytest.mark.slow
def test_the_same_recipe_trains_the_same_bytes(mlm_base, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        result = run_cli("train", str(sparse_recipe(tmp_path, mlm_base)), "--out", str(out))
        assert result.exit_code == 0, result.output
    assert weights_sha256(first) == weights_sha256(second)
    assert (first / "eval_results.json").read_text() == (second / "eval_results.json").read_text()


@pytest.mark.parametrize(
    ("form", "loss", "name"),
    [
        ("tuples", SPLADE | {"inner": {"name": "SparseMarginMSE"}}, "SparseMarginMSELoss"),
        ("tuples", SPLADE | {"inner": {"name": "SparseTripletLoss"}}, "SparseTripletLoss"),
        ("pairs", SPLADE | {"inner": {"name": "SparseCoSENTLoss"}}, "SparseCoSENTLoss"),
        (
            "tuples",
            {
                "name": "CachedSpladeLoss",
                "params": {"document_regularizer_weight": 3e-5, "mini_batch_size": 2},
            }
            | {"inner": {"name": "SparseMNRL"}},
            "CachedSpladeLoss",
        ),
    ],
)
def test_other_sparse_losses_train(mlm_base, tmp_path, form, loss, name):
    out = tmp_path / "out"
    result = run_cli("train", str(sparse_recipe(tmp_path, mlm_base, loss, form)), "--out", str(out))
    assert result.exit_code == 0, result.output
    loss = yaml.safe_load((out / "hubrerank.yaml").read_text())["loss"]
    assert name in (loss["name"], loss["inner"]["name"])


def test_model_kind_auto_finds_a_sparse_encoder(hub, tmp_path):
    sha = push_folder("alice/tiny-splade", build_tiny_sparse_encoder(tmp_path / "splade"))
    out = tmp_path / "out"
    recipe = sparse_recipe(tmp_path, "alice/tiny-splade", kind={"kind": "auto", "max_length": 32})

    result = run_cli("train", str(recipe), "--out", str(out), "--set", "args.max_steps=3")

    assert result.exit_code == 0, result.output
    assert "model.kind: sparse-encoder" in result.output
    record = yaml.safe_load((out / "hubrerank.yaml").read_text())
    assert record["model"]["kind"] == "sparse-encoder" and record["base_model"]["revision"] == sha


def test_csr_loss_trains_a_csr_model_from_a_bi_encoder(hub, tmp_path):
    """An embedding model becomes a CSR model (its modules under a seeded SparseAutoEncoder of four times
    its dimensions, a quarter of them kept) trained with CSRLoss around a sparse ranking loss."""
    push_folder("alice/tiny-bi-for-sparse", build_tiny_bi_encoder(tmp_path / "bi"))
    out = tmp_path / "out"
    loss = {
        "name": "CSR",
        "params": {"beta": 0.1},
        "inner": {"name": "SparseMNRL", "params": {"scale": 20.0}},
    }
    recipe = sparse_recipe(tmp_path, "alice/tiny-bi-for-sparse", loss)

    result = run_cli("train", str(recipe), "--out", str(out), "--set", "args.max_steps=3")

    assert result.exit_code == 0, result.output
    assert "model.kind: sparse-encoder" in result.output
    modules = [module["type"].rpartition(".")[2] for module in json.loads((out / "modules.json").read_text())]
    assert modules == ["Transformer", "Pooling", "SparseAutoEncoder"]
    record = yaml.safe_load((out / "hubrerank.yaml").read_text())
    assert record["loss"]["name"] == "CSRLoss" and record["loss"]["params"] == {"beta": 0.1}
    assert record["loss"]["inner"] == {
        "name": "SparseMultipleNegativesRankingLoss",
        "params": {"scale": 20.0},
    }
    [retrieval] = json.loads((out / "eval_results.json").read_text())["results"]
    # SparseAutoEncoder keeps k = 32 // 4 of its 4 x 32 dimensions
    assert retrieval["metrics"]["corpus_active_dims"] == 32 // 4
    tags = yaml.safe_load((out / "README.md").read_text().split("---")[1])["tags"]
    assert "csr" in tags and "splade" not in tags  # SparseEncoderModelCardData's tag of a CSR model


def test_csr_loss_on_a_masked_lm_base_is_refused_before_training(mlm_base, tmp_path):
    out = tmp_path / "out"
    recipe = sparse_recipe(tmp_path, mlm_base, {"name": "CSRLoss", "inner": {"name": "SparseMNRL"}})
    result = run_cli("train", str(recipe), "--out", str(out))
    assert result.exit_code == 2, result.output
    assert (
        result.output.strip()
        .splitlines()[-1]
        .endswith(
            "loss.name: CSRLoss trains a SparseAutoEncoder, which a model from base_model "
            "alice/tiny-mlm-base would not have; start from an embedding model (a bi-encoder), "
            "which becomes a CSR model, or from a SparseEncoder with one"
        )
    )
    assert not (out / "checkpoints").exists()


def test_a_sparse_recipe_on_a_cross_encoder_is_refused_before_training(hub, tmp_path):
    push_folder("alice/tiny-ce-for-sparse", build_tiny_cross_encoder(tmp_path / "ce"))
    out = tmp_path / "out"
    result = run_cli("train", str(sparse_recipe(tmp_path, "alice/tiny-ce-for-sparse")), "--out", str(out))
    assert result.exit_code == 2, result.output
    assert (
        result.output.strip()
        .splitlines()[-1]
        .endswith(
            "model.kind is sparse-encoder but base_model alice/tiny-ce-for-sparse is a cross-encoder; "
            "choose a masked-LM checkpoint, an embedding model or a SparseEncoder, or set model.kind to "
            "cross-encoder"
        )
    )
    assert not (out / "checkpoints").exists()


def test_a_bi_encoder_loss_in_a_sparse_recipe_is_one_line(mlm_base, tmp_path):
    recipe = sparse_recipe(tmp_path, mlm_base, loss={"name": "MNRL"})
    result = run_cli("train", str(recipe), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    assert "loss.name 'MNRL' is not a sparse-encoder loss" in result.output


def test_a_sparse_ranking_loss_alone_is_refused_in_one_line(mlm_base, tmp_path):
    recipe = sparse_recipe(tmp_path, mlm_base, loss={"name": "SparseMNRL"})
    result = run_cli("train", str(recipe), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2, result.output
    assert (
        result.output.strip()
        .splitlines()[-1]
        .endswith(
            "loss.name: SparseMultipleNegativesRankingLoss trains only inside SpladeLoss, "
            "CachedSpladeLoss or CSRLoss, which keep the vectors sparse; write loss: {name: SpladeLoss, "
            "params: {document_regularizer_weight: 3.0e-5}, inner: "
            "{name: SparseMultipleNegativesRankingLoss}}"
        )
    )


@pytest.mark.parametrize(
    ("kind", "loss"),
    [
        (SPARSE, SPLADE | {"inner": {"name": "SparseMarginMSE"}}),
        ({"kind": "multi-vector", "max_length": 32}, {"name": "MultiVectorMarginMSE"}),
    ],
    ids=["sparse-margin-mse", "multi-vector-margin-mse"],
)
def test_margin_mse_distils_the_teacher_scores_data_build_wrote(hub, tiny_bi_encoder, kind, loss, tmp_path):
    """`data build --teacher --output-format n-tuple` writes the teacher's scores of each query's positive
    and mined negatives; the sparse and multi-vector MarginMSE losses train on them as they are."""
    from factories import build_tiny_bert_base, build_tiny_mlm_base

    source = tmp_path / "faq.csv"
    source.write_text("question,answer\n" + "".join(f"{q},{a}\n" for q, a in TOPICS))
    repo = f"alice/distil-{kind['kind']}"
    model = str(tiny_bi_encoder.path)
    built = run_cli(
        "data", "build", str(source), "--format", "qa", "--negatives", "2", "--mine-model", model,
        "--teacher", model, "--output-format", "n-tuple", "--test-size", "2", "--eval-size", "0",
        "--push", repo,
    )  # fmt: skip
    assert built.exit_code == 0, built.output
    build = build_tiny_mlm_base if kind == SPARSE else build_tiny_bert_base
    base = f"alice/distil-base-{kind['kind']}"
    push_folder(base, build(tmp_path / "base"))
    recipe = sparse_recipe(tmp_path, base, loss, kind=kind)
    document = yaml.safe_load(recipe.read_text())
    document["train"] = {"dataset": repo, "split": "train"}
    document.pop("eval")
    document["args"] |= {"max_steps": 3, "eval_strategy": "no"}
    recipe.write_text(yaml.safe_dump(document, sort_keys=False))

    result = run_cli("train", str(recipe), "--out", str(tmp_path / "out"))

    assert result.exit_code == 0, result.output
    assert "trained 3 steps" in result.output
