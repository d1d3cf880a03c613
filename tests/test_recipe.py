"""Recipes: safe YAML, --set overrides, schema and meaning checks, defaults, pinning (no Hub needed)."""

from __future__ import annotations

import pytest
import yaml

from hubrerank.errors import RecipeError
from hubrerank.refs import Ref, ResolvedRef
from hubrerank.training.losses import find_loss
from hubrerank.training.recipe import Recipe, load_recipe, validate
from hubrerank.training.recipe_yaml import apply_overrides, parse_yaml

EXAMPLE = """\
hubrerank: 1
name: minilm-faq-bce
seed: 12
base_model: {repo: ORG/base, revision: main}
model: {max_length: 256, num_labels: 1}
train: {dataset: ORG/train, revision: main, config: default, split: train}
eval: {dataset: ORG/eval, revision: v1, split: test}
loss: {name: BinaryCrossEntropyLoss, params: {pos_weight: 4}}
args: {num_train_epochs: 1, per_device_train_batch_size: 16, learning_rate: 2e-5, warmup_ratio: 0.1}
evaluation:
  reranking: [{dataset: ORG/eval, revision: main, split: test, at_k: 10}]
  nanobeir:
    {dataset: sentence-transformers/NanoBEIR-en, revision: main, datasets: [msmarco, nq], rerank_k: 100}
"""


def recipe(*overrides: str, text: str = EXAMPLE) -> Recipe:
    return validate(apply_overrides(parse_yaml(text, "recipe.yaml"), overrides, "recipe.yaml"), "recipe.yaml")


def refused(*overrides: str, text: str = EXAMPLE) -> str:
    with pytest.raises(RecipeError) as error:
        recipe(*overrides, text=text)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_example_is_normalized_with_every_default_written_out(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text(EXAMPLE)

    loaded = load_recipe(path)

    assert loaded.source == str(path)
    assert loaded.train == [
        {"dataset": "ORG/train", "revision": "main", "config": "default", "split": "train"}
    ]
    assert loaded.eval == {
        "dataset": "ORG/eval",
        "revision": "v1",
        "config": None,  # the loader reads the config holding the split (hubrerank keeps it in `reranking`)
        "split": "test",
        "at_k": 10,
    }
    assert loaded.args["learning_rate"] == 2e-5  # YAML 1.2 floats: 2e-5 is a number, not a string
    assert loaded.loss.name == "BinaryCrossEntropyLoss" and loaded.loss.form == "labeled-pair"
    assert loaded.evaluation["nanobeir"]["at_k"] == 10
    assert loaded.eval_name == "eval-test" and loaded.best_metric == "eval_eval-test_ndcg@10"
    assert validate(yaml.safe_load(loaded.to_yaml()), "again").document == loaded.document


def test_minimal_recipe_gets_defaults_and_evaluates_its_eval_split():
    minimal = (
        "hubrerank: 1\nname: m\nbase_model: {repo: o/m}\ntrain: [{dataset: o/t}]\neval: {dataset: o/e}\n"
    )
    loaded = recipe("loss.name=bce", text=minimal)

    assert loaded.seed == 42 and loaded.model == {"max_length": None, "num_labels": 1}
    assert loaded.base_model == {"repo": "o/m", "revision": "main"}
    assert loaded.evaluation == {"reranking": [loaded.eval]}
    assert loaded.loss.name == "BinaryCrossEntropyLoss"


def test_training_arguments_add_what_hubrerank_controls():
    args = recipe("args.eval_steps=50").training_arguments()

    assert args["seed"] == args["data_seed"] == 12 and args["report_to"] == "none"
    assert args["eval_strategy"] == args["save_strategy"] == "steps" and args["save_steps"] == 50
    assert (
        args["load_best_model_at_end"] is True and args["metric_for_best_model"] == "eval_eval-test_ndcg@10"
    )
    assert recipe().training_arguments()["eval_strategy"] == "epoch"
    no_eval = recipe(
        "evaluation={}", text=EXAMPLE.replace("eval: {dataset: ORG/eval, revision: v1, split: test}\n", "")
    )
    assert "load_best_model_at_end" not in no_eval.training_arguments()


def test_overrides_follow_dotted_and_indexed_paths():
    loaded = recipe("args.learning_rate=3e-5", "train.split=dev", "evaluation.reranking[0].at_k=5")

    assert loaded.args["learning_rate"] == 3e-5
    assert loaded.train[0]["split"] == "dev"
    assert loaded.evaluation["reranking"][0]["at_k"] == 5


def test_override_errors():
    assert "expected KEY=VALUE" in refused("args")
    assert "is not a key path" in refused("args..x=1")
    assert "out of range" in refused("evaluation.reranking[3].at_k=5")


def test_model_keys_the_schema_does_not_know():
    assert refused("model.new=1") == (
        "recipe.yaml: model.new is not a recipe key. Allowed here: kind, max_length, num_labels"
    )


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["base_model.revison=x"], "base_model.revison is not a recipe key; did you mean revision?"),
        (["traning=1"], "traning is not a recipe key; did you mean training?"),
        (["hubrerank=2"], "hubrerank: 2 is not a recipe version this hubrerank reads; use 1"),
        (["name=a b"], "name: 'a b' is not a valid name"),
        (["train=3"], "train must be a dataset mapping (dataset, revision, config, split) or a list of them"),
        (["seed=-1"], "seed: -1 is less than the minimum of 0"),
        (
            ["evaluation.nanobeir.datasets=[msmarco, nope]"],
            "evaluation.nanobeir.datasets[1]: 'nope' is not one of",
        ),
        (["loss.params.pos_weight=[1, 2]"], "loss.params.pos_weight must be a positive number"),
    ],
)
def test_schema_errors_name_the_key(overrides, expected):
    assert expected in refused(*overrides)


def test_missing_key():
    text = EXAMPLE.replace("loss: {name: BinaryCrossEntropyLoss, params: {pos_weight: 4}}\n", "")
    assert refused(text=text) == "recipe.yaml: loss is missing (see docs/recipe.md)"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["args.trust_remote_code=true"], "args.trust_remote_code: a recipe cannot ask for remote code"),
        (["base_model.trust_remote_code=true"], "base_model.trust_remote_code: a recipe cannot ask"),
        (["args.model_init_kwargs={trust_remote_code: true}"], "args.model_init_kwargs.trust_remote_code:"),
    ],
)
def test_remote_code_is_a_command_line_decision(overrides, expected):
    assert expected in refused(*overrides)


def test_yaml_is_data_only():
    with pytest.raises(RecipeError, match=r"recipe.yaml:2: not a valid recipe YAML: .*python/object"):
        parse_yaml("hubrerank: 1\nname: !!python/object/apply:os.system [ls]\n", "recipe.yaml")
    with pytest.raises(RecipeError, match=r"recipe.yaml:3: .*duplicate key 'name'"):
        parse_yaml("hubrerank: 1\nname: a\nname: b\n", "recipe.yaml")
    assert parse_yaml("a: 1e-3\nb: 5\nc: .5\nd: '1e-3'", "x") == {"a": 1e-3, "b": 5, "c": 0.5, "d": "1e-3"}
    assert parse_yaml("a: no\nb: off\nc: true\nd: False\ne: null", "x") == {
        "a": "no",
        "b": "off",
        "c": True,
        "d": False,
        "e": None,
    }


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("bce", "BinaryCrossEntropyLoss"),
        ("CMNRL", "CachedMultipleNegativesRankingLoss"),
        ("lambda", "LambdaLoss"),
    ],
)
def test_loss_aliases(name, canonical):
    assert find_loss(name).name == canonical


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            ["loss.name=BCELoss"],
            "loss.name 'BCELoss' is not a cross-encoder loss; did you mean BinaryCrossEntropyLoss?",
        ),
        (
            ["loss.name=Focal"],
            "loss.name 'Focal' is not a cross-encoder loss. Use one of BinaryCrossEntropyLoss,",
        ),
        (
            ["loss.params.pos_wieght=1"],
            "loss.params.pos_wieght is not a parameter of BinaryCrossEntropyLoss; did",
        ),
        (["loss.params.pos_weight=0"], "loss.params.pos_weight must be a positive number, got 0"),
        (
            ["loss.params.activation_fn=torch.nn.ReLU"],
            "activation_fn: 'torch.nn.ReLU' is not one of Identity,",
        ),
        (["loss.params.reduction=[a]"], "loss.params.reduction must be a number, string, boolean or null"),
        (
            ["loss={name: LambdaLoss, params: {weighting_scheme: NDCGLoss2PP}}"],
            "is not one of NoWeightingScheme, NDCGLoss1Scheme, NDCGLoss2Scheme, LambdaRankScheme, "
            "NDCGLoss2PPScheme; did you mean NDCGLoss2PPScheme?",
        ),
        (
            ["loss={name: LambdaLoss, params: {sigma: high}}"],
            "loss.params.sigma must be a number, got 'high'",
        ),
        (
            ["loss={name: ListMLE, params: {respect_input_order: 1}}"],
            "respect_input_order must be true or false",
        ),
        (["loss={name: CE}"], "model.num_labels must be 2 or more for CrossEntropyLoss"),
        (
            ["loss={name: ListNet}", "train.label_column=label"],
            "train[0].label_column: ListNetLoss takes its labels from labels or scores, not 'label'",
        ),
        (
            ["loss={name: MNRL}", "train.label_scale=20"],
            "train[0].label_scale: MultipleNegativesRankingLoss trains on no label column",
        ),
        (
            ["loss={name: CE}", "model.num_labels=2", "train.label_scale=2"],
            "train[0].label_scale: CrossEntropyLoss labels are class ids",
        ),
        (["train.label_scale=0"], "train.label_scale: 0 is less than or equal to the minimum of 0"),
        (["loss={name: MSE}", "model.num_labels=3"], "model.num_labels must be 1 for MSELoss"),
    ],
)
def test_loss_errors(overrides, expected):
    assert expected in refused(*overrides)


def test_loss_params_accept_plain_data_and_allow_listed_names():
    assert recipe("loss.params.reduction=sum").loss_params == {"pos_weight": 4, "reduction": "sum"}
    lambda_loss = recipe("loss={name: LambdaLoss, params: {weighting_scheme: LambdaRankScheme, k: 5}}")
    assert lambda_loss.loss_params == {"weighting_scheme": "LambdaRankScheme", "k": 5}
    assert recipe("loss={name: CE, params: {label_smoothing: 0.1}}", "model.num_labels=3").loss.name == (
        "CrossEntropyLoss"
    )


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            ["args.learning_rte=1"],
            "recipe.yaml: args.learning_rte is not a training argument; did you mean learning_rate?",
        ),
        (["args.output_dir=x"], "args.output_dir is set by hubrerank; hubrerank train --out sets it"),
        (["args.seed=1"], "args.seed is set by hubrerank; use the top-level seed key"),
        (
            ["args.hub_model_id=x"],
            "args.hub_model_id is set by hubrerank; use hubrerank train --push REPO_ID",
        ),
        (["args.report_to=wandb"], "args.report_to is set by hubrerank"),
        (["args.metric_for_best_model=x"], "args.metric_for_best_model is set by hubrerank"),
        (
            ["args.eval_strategy=step"],
            "args.eval_strategy: 'step' is not one of no, steps, epoch; did you mean steps?",
        ),
        (
            ["args.num_train_epochs=abc"],
            "args.num_train_epochs: 'abc' is not a valid value (expected float or int)",
        ),
        (["args.bf16=1"], "args.bf16: 1 is not a valid value (expected bool)"),
        (["args.eval_strategy=no"], "args.eval_strategy is 'no' but the recipe has an eval split"),
        (["args.save_strategy=steps"], "args.save_strategy 'steps' differs from eval_strategy 'epoch'"),
        (
            ["args.eval_steps=10", "args.save_steps=15"],
            "args.save_steps (15) must be a multiple of eval_steps (10)",
        ),
    ],
)
def test_argument_errors(overrides, expected):
    assert expected in refused(*overrides)


def test_eval_strategy_needs_an_eval_split():
    text = EXAMPLE.replace("eval: {dataset: ORG/eval, revision: v1, split: test}\n", "")
    assert "args.eval_strategy needs an eval split" in refused("args.eval_strategy=steps", text=text)


def _fake_resolve(ref: Ref) -> ResolvedRef:
    return ResolvedRef(ref.repo_id, f"{len(ref.repo_id):040d}", ref.repo_type, ref.revision or "main")


def test_pin_records_shas_and_what_was_requested():
    loaded = recipe()
    pinned = loaded.pin(_fake_resolve)

    assert all(len(node["revision"]) == 40 for _, node, _ in pinned.refs())
    assert pinned.eval == {**loaded.eval, "revision": f"{len('ORG/eval'):040d}", "requested": "v1"}
    assert pinned.pin(_fake_resolve).eval["requested"] == "v1"  # pinning again keeps what was asked for
    assert pinned.as_requested() == loaded.document
    assert [path for path, _, _ in pinned.refs()] == [
        "base_model",
        "train[0]",
        "eval",
        "evaluation.reranking[0]",
        "evaluation.nanobeir",
    ]


def test_a_resolved_record_is_itself_a_valid_recipe():
    record = recipe().pin(_fake_resolve).document | {
        "environment": {"python": "3.11.7", "world_size": 1},
        "metrics": {"ORG/eval:test/ndcg@10": 0.5},
        "training": {"global_step": 10},
    }

    again = validate(yaml.safe_load(yaml.safe_dump(record)), "hubrerank.yaml")

    assert again.document == record
    assert again.as_requested() == recipe().document


def test_a_realistic_nanobeir_run_is_written_out_and_the_default_is_not():
    """``always_rerank_positives: false`` reranks only what BM25 returned; the evaluator's default (true)
    stays unwritten, so records made before the key existed read alike."""
    realistic = recipe("evaluation.nanobeir.always_rerank_positives=false")
    assert realistic.document["evaluation"]["nanobeir"]["always_rerank_positives"] is False
    assert "always_rerank_positives" not in recipe().document["evaluation"]["nanobeir"]
    explicit = recipe("evaluation.nanobeir.always_rerank_positives=true")
    assert "always_rerank_positives" not in explicit.document["evaluation"]["nanobeir"]
    assert "always_rerank_positives" in refused("evaluation.nanobeir.always_rerank_positives=sometimes")
