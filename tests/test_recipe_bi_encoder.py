"""Bi-encoder recipes: model.kind, its losses (wrapped, guided), arguments and evaluation plan."""

from __future__ import annotations

import pytest
import yaml

from hubrerank.errors import RecipeError
from hubrerank.refs import Ref, ResolvedRef
from hubrerank.training.recipe import Recipe, validate
from hubrerank.training.recipe_yaml import apply_overrides, parse_yaml

BI_ENCODER = """\
hubrerank: 1
name: minilm-faq-mnrl
base_model: {repo: ORG/base}
model: {kind: bi-encoder}
train: {dataset: ORG/train, config: default, split: train}
eval: {dataset: ORG/eval, split: test}
loss: {name: MNRL}
args: {num_train_epochs: 3, per_device_train_batch_size: 32, learning_rate: 5e-5,
       batch_sampler: no_duplicates}
"""


def recipe(*overrides: str, text: str = BI_ENCODER) -> Recipe:
    return validate(apply_overrides(parse_yaml(text, "r.yaml"), overrides, "r.yaml"), "r.yaml")


def refused(*overrides: str, text: str = BI_ENCODER) -> str:
    with pytest.raises(RecipeError) as error:
        recipe(*overrides, text=text)
    assert "\n" not in str(error.value)
    return str(error.value)


def test_bi_encoder_recipe_is_normalized_for_its_kind():
    loaded = recipe()
    assert loaded.kind.name == "bi-encoder"
    assert loaded.model == {"kind": "bi-encoder", "max_length": None}
    assert loaded.loss.name == "MultipleNegativesRankingLoss" and loaded.loss.form == "n-tuple"
    assert loaded.evaluation == {"retrieval": [loaded.eval]}
    assert loaded.best_metric == "eval_eval-test_cosine_ndcg@10"
    assert loaded.training_arguments()["batch_sampler"] == "no_duplicates"
    assert validate(yaml.safe_load(loaded.to_yaml()), "again").document == loaded.document


def test_the_default_kind_is_not_written():
    loaded = recipe("model.kind=cross-encoder", "loss.name=BCE", "args.batch_sampler=batch_sampler")
    assert "kind" not in loaded.model and loaded.kind.name == "cross-encoder"
    assert loaded.evaluation == {"reranking": [loaded.eval]}


@pytest.mark.parametrize(
    ("loss", "form"),
    [("CMNRL", "n-tuple"), ("TripletLoss", "triplet"), ("CoSENTLoss", "labeled-pair")],
)
def test_bi_encoder_losses_and_their_forms(loss, form):
    assert recipe(f"loss.name={loss}").loss.form == form


def test_matryoshka_wraps_an_inner_loss():
    loaded = recipe("loss={name: MatryoshkaLoss, params: {matryoshka_dims: [32, 16]}, inner: {name: MNRL}}")
    assert loaded.loss.name == "MultipleNegativesRankingLoss"
    assert loaded.document["loss"] == {
        "name": "MatryoshkaLoss",
        "params": {"matryoshka_dims": [32, 16]},
        "inner": {"name": "MultipleNegativesRankingLoss", "params": {}},
    }
    assert "loss.inner is missing" in refused("loss={name: MatryoshkaLoss, params: {matryoshka_dims: [8]}}")
    assert "must be a list of positive numbers" in refused(
        "loss={name: MatryoshkaLoss, params: {matryoshka_dims: 8}, inner: {name: MNRL}}"
    )
    assert "loss.inner: MultipleNegativesRankingLoss wraps no loss" in refused(
        "loss={name: MNRL, inner: {name: MNRL}}"
    )


def test_gist_guide_is_a_pinned_model_reference():
    loaded = recipe("loss={name: GISTEmbedLoss, params: {temperature: 0.05}, guide: {repo: ORG/guide}}")
    paths = [path for path, _, _ in loaded.refs()]
    assert paths[:2] == ["base_model", "loss.guide"]

    def resolve(ref: Ref) -> ResolvedRef:
        return ResolvedRef(ref.repo_id, "a" * 40, ref.repo_type, ref.revision)

    guide = loaded.pin(resolve).document["loss"]["guide"]
    assert guide == {"repo": "ORG/guide", "revision": "a" * 40, "requested": "main"}
    assert "loss.guide is missing" in refused("loss.name=GISTEmbedLoss")
    assert "takes no guide model" in refused("loss.guide={repo: ORG/guide}")


def test_bi_encoder_refusals_name_the_key():
    assert "model.num_labels does not apply to a bi-encoder" in refused("model.num_labels=1")
    assert "is not a bi-encoder loss" in refused("loss.name=BCE")
    assert "evaluation.reranking does not evaluate a bi-encoder" in refused(
        "evaluation={reranking: [{dataset: ORG/eval}]}"
    )
    assert "args.batch_sampler: 'no_dups' is not one of" in refused("args.batch_sampler=no_dups")
    assert "model.kind" in refused("model.kind=sparse")


def test_a_bi_encoder_recipe_evaluates_nanobeir_retrieval_without_a_bm25_depth():
    loaded = recipe("evaluation={nanobeir: {datasets: [msmarco, nq]}}")
    assert loaded.document["evaluation"]["nanobeir"] == {
        "dataset": "sentence-transformers/NanoBEIR-en",
        "revision": "main",
        "datasets": ["msmarco", "nq"],
        "at_k": 10,
    }
    assert "evaluation.nanobeir.rerank_k: a bi-encoder searches each subset's whole corpus" in refused(
        "evaluation={nanobeir: {datasets: [nq], rerank_k: 50}}"
    )
    assert "evaluation.nanobeir.always_rerank_positives: a bi-encoder searches" in refused(
        "evaluation={nanobeir: {datasets: [nq], always_rerank_positives: false}}"
    )


def test_a_bi_encoder_recipe_evaluates_triplets_and_pins_their_data():
    loaded = recipe(
        "evaluation={triplet: [{dataset: ORG/triplets, split: dev}], retrieval: [{dataset: ORG/eval}]}"
    )

    assert loaded.evaluation["triplet"] == [
        {"dataset": "ORG/triplets", "revision": "main", "config": None, "split": "dev"}  # no cut-off
    ]
    assert ("evaluation.triplet[0]", loaded.evaluation["triplet"][0], "dataset") in list(loaded.refs())
    assert validate(yaml.safe_load(loaded.to_yaml()), "again").document == loaded.document
    assert "evaluation.triplet[0].at_k is not a recipe key" in refused(
        "evaluation={triplet: [{dataset: ORG/triplets, at_k: 10}]}"
    )


def test_a_cross_encoder_recipe_with_triplets_is_refused_naming_the_key():
    message = refused(
        "model.kind=cross-encoder",
        "loss.name=BCE",
        "args.batch_sampler=batch_sampler",
        "evaluation={triplet: [{dataset: ORG/triplets}]}",
    )

    assert message == (
        "r.yaml: evaluation.triplet does not evaluate a cross-encoder; use nanobeir or reranking"
    )


SHA = "0123456789abcdef0123456789abcdef01234567"


def detected(kind: str):
    """A kind detector that finds ``kind`` and pins the base model to SHA, recording what it was asked."""
    asked: list[Ref] = []

    def detect(ref: Ref) -> tuple[ResolvedRef, str]:
        asked.append(ref)
        return ResolvedRef(ref.repo_id, SHA, "model", ref.revision or "main"), kind

    detect.asked = asked
    return detect


def test_auto_kind_takes_the_base_models_kind_and_pins_it():
    detect = detected("bi-encoder")
    document = apply_overrides(parse_yaml(BI_ENCODER, "r.yaml"), ["model.kind=auto"], "r.yaml")
    loaded = validate(document, "r.yaml", detect_kind=detect)
    assert detect.asked == [Ref("ORG/base", "main", "model")]
    assert loaded.model == {"kind": "bi-encoder", "max_length": None}
    assert loaded.base_model == {"repo": "ORG/base", "revision": SHA, "requested": "main"}
    assert loaded.as_requested()["base_model"] == {"repo": "ORG/base", "revision": "main"}
    # the recorded recipe names the kind found, so re-reading it asks nothing
    assert validate(yaml.safe_load(loaded.to_yaml()), "again").document == loaded.document


def test_auto_kind_checks_the_loss_against_the_kind_found():
    overrides = ["model.kind=auto", "loss.name=TripletLoss"]
    document = apply_overrides(parse_yaml(BI_ENCODER, "r.yaml"), overrides, "r.yaml")
    with pytest.raises(RecipeError) as error:
        validate(document, "r.yaml", detect_kind=detected("cross-encoder"))
    assert str(error.value).startswith("r.yaml: loss.name 'TripletLoss' is not a cross-encoder loss")
    assert str(error.value).endswith(
        f"(model.kind: auto found base_model ORG/base@{SHA[:12]} to be a cross-encoder)"
    )
    assert validate(
        apply_overrides(document, ["loss.name=BCE"], "r.yaml"),
        "r.yaml",
        detect_kind=detected("cross-encoder"),
    ).model == {"max_length": None, "num_labels": 1}


def test_auto_kind_refuses_a_plain_checkpoint_in_one_line():
    document = apply_overrides(parse_yaml(BI_ENCODER, "r.yaml"), ["model.kind=auto"], "r.yaml")
    with pytest.raises(RecipeError) as error:
        validate(document, "r.yaml", detect_kind=detected("base"))
    assert str(error.value) == (
        f"r.yaml: model.kind: auto: base_model ORG/base@{SHA[:12]} is a plain transformers checkpoint (no "
        "Pooling module, no scoring head) that can become any kind; set model.kind to cross-encoder, "
        "bi-encoder, sparse-encoder or multi-vector"
    )


def test_a_named_kind_is_never_detected():
    detect = detected("cross-encoder")
    assert recipe().kind.name == "bi-encoder"
    validate(parse_yaml(BI_ENCODER, "r.yaml"), "r.yaml", detect_kind=detect)
    assert detect.asked == []
