"""`recipe from-card` over the cards the real sentence-transformers releases wrote (tools/st_card_corpus.py).

Each tests/fixtures/st_cards/<version>/<case>/ holds the README.md a release wrote after training, beside
case.json: exactly the arguments the script gave. The recipe must give back every one of them, or name it
in ``unknown``. The cards' datasets were published on the script's own Hub, so the revisions they pin are
not on the session Hub: those look-ups are gaps (never a crash). The test publishes the same rows under
acme/ instead, which is where a card naming its data by name alone (datasets 4+) is guessed (in the
model's namespace), with its config and split found from the Hub's metadata.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import run_cli

from hubrerank.refs import ResolvedRef

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "st_cards"
FOLDERS = sorted(path.parent for path in CORPUS.glob("*/*/case.json"))  # cross-encoders
# SentenceTransformer (bi-encoder) cards: tests/fixtures/st_cards/bi-encoder/<release>/<case>/
BI_FOLDERS = sorted(path.parent for path in (CORPUS / "bi-encoder").glob("*/*/case.json"))
# SparseEncoder (SPLADE) cards, from 5.0: tests/fixtures/st_cards/sparse-encoder/<release>/<case>/
SPARSE_FOLDERS = sorted(path.parent for path in (CORPUS / "sparse-encoder").glob("*/*/case.json"))
# MultiVectorEncoder (ColBERT-style) cards, from 6.0: tests/fixtures/st_cards/multi-vector/<release>/<case>/
MULTI_VECTOR_FOLDERS = sorted(path.parent for path in (CORPUS / "multi-vector").glob("*/*/case.json"))
NAMESPACE = "acme"
# training-argument defaults that changed since the card's release: the recipe writes the card's value out
CHANGED_DEFAULTS = {"optim": "adamw_torch"}
# fit() -> trainer arguments, as CrossEncoder.fit() converts them
FIT_ARGS = {
    "epochs": "num_train_epochs",
    "batch_size": "per_device_train_batch_size",
    "warmup_steps": "warmup_steps",
}


def by_name(matches: dict) -> dict:
    """:func:`match_claims`'s matches by the claims' dataset name (each card here runs one evaluator per
    name)."""
    return {source.dataset: match for source, match in matches.items()}


@dataclasses.dataclass(frozen=True)
class Generated:
    """One generated card and the arguments that produced it."""

    folder: Path

    @property
    def case(self) -> dict[str, Any]:
        return json.loads((self.folder / "case.json").read_text())

    @property
    def text(self) -> str:
        return (self.folder / "README.md").read_text(encoding="utf-8")

    @property
    def repo_id(self) -> str:
        prefixes = {"bi-encoder": "bi-", "sparse-encoder": "sparse-", "multi-vector": "mv-"}
        kind = prefixes.get(self.folder.parent.parent.name, "")
        return f"{NAMESPACE}/st-{kind}{self.folder.parent.name.replace('+', '-')}-{self.folder.name}"

    def given_args(self) -> dict[str, Any]:
        """The trainer arguments the run was given (fit()'s converted)."""
        case = self.case
        if case.get("api", "trainer") != "fit":
            return dict(case.get("args") or {})
        fit = case["fit"]
        args = {FIT_ARGS[key]: value for key, value in fit.items() if key in FIT_ARGS}
        if "lr" in fit.get("optimizer_params", {}):
            args["learning_rate"] = fit["optimizer_params"]["lr"]
        return args


CARDS = [Generated(folder) for folder in FOLDERS]
BI_CARDS = [Generated(folder) for folder in BI_FOLDERS]
SPARSE_CARDS = [Generated(folder) for folder in SPARSE_FOLDERS]
MULTI_VECTOR_CARDS = [Generated(folder) for folder in MULTI_VECTOR_FOLDERS]


def _script() -> Any:
    spec = importlib.util.spec_from_file_location("st_card_corpus", ROOT / "tools" / "st_card_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def toy_data(hub) -> None:
    """The corpus' datasets (the same rows) under acme/, where cards naming data by name are guessed."""
    from datasets import Dataset, DatasetDict

    for name, splits in _script().build_datasets().items():
        DatasetDict({split: Dataset.from_dict(columns) for split, columns in splits.items()}).push_to_hub(
            f"{NAMESPACE}/{name}"
        )


def test_the_corpus_covers_the_releases():
    versions = {folder.parent.name for folder in FOLDERS}
    assert {"4.1.0", "6.2.0", "6.3.0"} <= versions
    assert len(FOLDERS) >= 30


def test_the_tool_selects_the_releases_the_corpus_lacks():
    """The pure half of release discovery: final releases from 4.0, oldest first (by version, not by
    text), then the +contemporary entries; those the corpus holds are left out unless asked for."""
    tool = _script()
    contemporary = ["4.0.2+contemporary", "4.1.0+contemporary", "5.0.0+contemporary"]
    available = ["6.10.0", "6.3.0", "6.3.0rc1", "6.4.0.dev0", "6.2.0", "4.1.0", "4.0.0", "3.4.1", "0.4.1.2"]
    available.append("not-a-version")
    present = {"4.0.0", "4.1.0", "6.2.0", *contemporary}

    assert tool.select_versions(available, present) == ["6.3.0", "6.10.0"]
    everything = ["4.0.0", "4.1.0", "6.2.0", "6.3.0", "6.10.0", *contemporary]
    assert tool.select_versions(available, present, everything=True) == everything
    assert tool.select_versions(available, set()) == everything
    assert tool.select_versions([], present) == []
    # sparse encoders from 5.0: older releases and their +contemporary entries are left out
    assert tool.select_versions(available, set(), first="5.0.0") == [
        "6.2.0",
        "6.3.0",
        "6.10.0",
        contemporary[2],
    ]
    assert tool.FIRST_RELEASES["sparse-encoder"] == "5.0.0"


def test_the_corpus_holds_the_same_releases_for_both_kinds():
    """Both kinds hold the same releases (so the next one is new to both), and the tool asked for the
    releases the corpus already holds has nothing to do."""
    tool = _script()
    held = tool.corpus_releases(CORPUS)

    assert held == tool.corpus_releases(CORPUS / "bi-encoder")
    assert tool.select_versions(held, held) == []
    assert set(tool.CONTEMPORARY) <= held


@pytest.mark.slow  # 487 cards: about 2 minutes; make test runs them, make test-fast does not
@pytest.mark.parametrize("card", CARDS, ids=[f"{c.folder.parent.name}/{c.folder.name}" for c in CARDS])
def test_recipe_gives_back_every_argument_or_names_it(card: Generated, toy_data):
    from hubrerank.errors import InputError
    from hubrerank.reproducibility.from_card import recipe_from_card
    from hubrerank.reproducibility.st_card import is_st_card, parse_card

    case = card.case
    if case["api"] == "untrained":
        assert not is_st_card(card.text)
        with pytest.raises(InputError, match="not written by sentence-transformers' trainer"):
            parse_card(card.text)
        return

    built = recipe_from_card(ResolvedRef(card.repo_id, "f" * 40, "model", "main"), card.text)

    document, unknown = built.document, built.unknown
    model = case["model"]
    assert document["base_model"] == {"repo": model["id"], "revision": model["revision"]}
    assert document["model"] == {"max_length": model["max_length"], "num_labels": model["num_labels"]}
    assert document["environment"]["sentence_transformers"] == case["versions"]["sentence-transformers"]
    given = card.given_args()
    assert document.get("seed", 42) == given.get("seed", 42)
    _check_loss(case, document["loss"], unknown)
    _check_args(given, document["args"], unknown, "cross-encoder")
    _check_train(card, document["train"], unknown)
    if case.get("head"):
        assert "Dense" in unknown["model.modules"]
    evaluator = (case.get("evaluator") or {}).get("name")
    if evaluator == "CrossEncoderNanoBEIREvaluator":
        assert "evaluation.nanobeir" in unknown or document["evaluation"]["nanobeir"]["datasets"] == [
            "msmarco"
        ]
    elif (
        evaluator == "CrossEncoderRerankingEvaluator"
        and "evaluation.reranking (toy-rerank-dev)" not in unknown
    ):
        assert "guessed evaluation.reranking (toy-rerank-dev)" in unknown  # the data is acme/toy-rerank
        [entry] = document["evaluation"]["reranking"]
        assert entry == {
            "dataset": "acme/toy-rerank",
            "revision": "main",
            "config": "default",
            "split": "dev",
            "at_k": 10,
        }
    elif evaluator and parse_card(card.text).claims:  # an evaluator that never ran claims nothing
        assert any(key.startswith("evaluator ") for key in unknown)
    _validate_filled(document, built.missing)


def _check_args(given: dict[str, Any], args: dict[str, Any], unknown: dict[str, str], kind: str) -> None:
    """Every training argument the run was given is in the recipe (or is today's default) or is named in
    ``unknown``; the recipe adds none but defaults that changed since the release."""
    from hubrerank.reproducibility.from_card import NOT_RECIPE_ARGS

    unrecorded = unknown.get("args (unrecorded)", "")
    for key, value in given.items():
        if key == "seed" or key in NOT_RECIPE_ARGS or key.startswith(("logging_", "save_")):
            continue
        if key == "warmup_ratio" and "warmup_ratio" not in args and "warmup_steps" in args:
            key = "warmup_steps"  # transformers 5 takes a ratio as a float warmup_steps
        named = f"args.{key}" in unknown or key in unrecorded
        # the schedule is named as one
        named |= key == "eval_steps" and ("args.eval_strategy" in unknown or "eval_strategy" in unrecorded)
        got = args.get(key, _default(key, kind))
        assert got == value or named, f"{key}={value!r}: recipe has {args.get(key)}"
    for key in set(args) - set(given) - {"warmup_steps"}:
        named = f"args.{key}" in unknown  # fit()'s own optimizer settings, which its card does not show
        assert CHANGED_DEFAULTS.get(key) == args[key] or named, f"args.{key}={args[key]!r} was not given"
    if given.get("eval_strategy", "no") != "no":
        assert "eval_strategy" not in args
        assert "args.eval_strategy" in unknown or "eval_strategy" in unknown.get("args (unrecorded)", "")


def _default(key: str, kind: str) -> Any:
    """Today's default of a training argument of model ``kind``."""
    from hubrerank.kinds import get_kind

    arguments_class = get_kind(kind).load("training_arguments_class")
    item = {item.name: item for item in dataclasses.fields(arguments_class)}[key]
    value = item.default if item.default is not dataclasses.MISSING else item.default_factory()
    return value.value if isinstance(value, enum.Enum) else value


def _check_loss(case: dict[str, Any], loss: dict[str, Any], unknown: dict[str, str]) -> None:
    if case["api"] == "fit":
        expected = "BinaryCrossEntropyLoss" if case["model"]["num_labels"] == 1 else "CrossEntropyLoss"
        assert loss == {"name": expected}
        return
    assert loss["name"] == case["loss"]["name"]
    assert loss.get("params", {}) == case["loss"]["kwargs"]


def _check_train(card: Generated, train: list[dict[str, Any]], unknown: dict[str, str]) -> None:
    if card.case.get("api") == "fit":  # fit() trains on an unnamed dataset built from its DataLoader
        assert train == [] and "train[0]" in unknown
        return
    given = card.case["train"]
    if "train[0]" in unknown:  # pinned to a revision the session Hub does not have
        [entry] = train  # a run that loaded main records the sha it resolved to
        assert (
            entry["dataset"] == given["id"] and given.get("revision", entry["revision"]) == entry["revision"]
        )
        assert "cannot be read on the Hub" in unknown["train[0]"]
        return
    [entry] = train
    assert entry["dataset"].split("/")[-1] == given["id"].split("/")[-1]
    assert (entry.get("config"), entry.get("split")) == ("default", "train"), unknown
    assert "guessed train[0]" in unknown or "guessed train[0].revision" in unknown


def _validate_filled(document: dict[str, Any], missing: list[str]) -> None:
    """With its required gaps filled in, the recipe is valid for today's hubrerank."""
    from hubrerank.training.recipe import validate

    filled = copy.deepcopy(document)
    if filled["loss"]["name"] is None:
        return
    filled["train"] = [{"config": "default", "split": "train", **entry} for entry in filled["train"]] or [
        {"dataset": "acme/toy-pairs", "revision": "main", "config": "default", "split": "train"}
    ]
    filled.pop("evaluation", None) if any(key.startswith("evaluation") for key in missing) else None
    if "loss.guide" in missing:
        filled["loss"]["guide"] = {"repo": "acme/guide", "revision": "main"}
    validate(filled, "the filled-in recipe")


@pytest.mark.slow
@pytest.mark.parametrize("version", sorted({folder.parent.name for folder in FOLDERS}))
def test_cli_writes_trainer_recipes_and_refuses_other_cards(version: str, hub, toy_data, tmp_path):
    from hubrerank.hub import publish

    for name in ("bce-reranking", "nanobeir", "fit", "untrained"):
        card = Generated(CORPUS / version / name)
        if not card.folder.is_dir():
            continue
        ref = publish(card.repo_id, {"README.md": card.text.encode()}, message="card")

        result = run_cli(
            "recipe", "from-card", f"{card.repo_id}@{ref.sha}", "-o", str(tmp_path / f"{name}.yaml")
        )

        if name == "untrained":
            assert result.exit_code == 2, result.output
            assert "was not written by sentence-transformers' trainer" in result.output
        else:
            assert result.exit_code == 0, result.output
            assert "unknown:" in (tmp_path / f"{name}.yaml").read_text()


def test_the_corpus_covers_bi_encoder_releases_and_losses():
    versions = {folder.parent.name for folder in BI_FOLDERS}
    assert {"4.1.0", "5.0.0", "5.4.1", "6.0.1", "6.2.0", "6.3.0"} <= versions
    losses = {card.case["loss"]["name"] for card in BI_CARDS if "loss" in card.case}
    assert {"MultipleNegativesRankingLoss", "CachedMultipleNegativesRankingLoss", "GISTEmbedLoss"} <= losses
    assert {"MatryoshkaLoss", "TripletLoss", "CoSENTLoss"} <= losses


@pytest.mark.slow  # as the cross-encoder cards
@pytest.mark.parametrize("card", BI_CARDS, ids=[f"{c.folder.parent.name}/{c.folder.name}" for c in BI_CARDS])
def test_bi_encoder_recipe_gives_back_every_argument_or_names_it(card: Generated, toy_data):
    from hubrerank.errors import InputError
    from hubrerank.reproducibility.card_claims import match_claims
    from hubrerank.reproducibility.from_card import recipe_from_card
    from hubrerank.reproducibility.st_card import is_st_card, parse_card

    case = card.case
    if case.get("api") == "untrained":
        assert not is_st_card(card.text)
        with pytest.raises(InputError, match="not written by sentence-transformers' trainer"):
            parse_card(card.text)
        return

    built = recipe_from_card(ResolvedRef(card.repo_id, "f" * 40, "model", "main"), card.text)

    document, unknown = built.document, built.unknown
    model = case["model"]
    assert document["base_model"] == {"repo": model["id"], "revision": model["revision"]}
    assert document["model"] == {"kind": "bi-encoder", "max_length": model["max_seq_length"]}
    assert "model.modules" not in unknown  # Transformer -> Pooling, as the base model is
    assert document["environment"]["sentence_transformers"] == case["versions"]["sentence-transformers"]
    given = card.given_args()
    assert document.get("seed", 42) == given.get("seed", 42)
    _check_bi_loss(case["loss"], document["loss"], unknown)
    _check_args(given, document["args"], unknown, "bi-encoder")
    _check_train(card, document["train"], unknown)
    evaluator = (case.get("evaluator") or {}).get("name")
    claims = parse_card(card.text).claims
    if evaluator == "InformationRetrievalEvaluator":
        assert "guessed evaluation.retrieval (toy-rerank-dev)" in unknown  # the data is acme/toy-rerank
        entry = {"dataset": "acme/toy-rerank", "revision": "main", "config": "default", "split": "dev"}
        assert document["evaluation"] == {"retrieval": [{**entry, "at_k": 10}]}
    elif evaluator == "NanoBEIREvaluator":  # its subsets by their claims, the dataset and revision guessed
        assert case["evaluator"]["kwargs"]["dataset_names"] == ["msmarco"]  # one subset: no mean claimed
        nanobeir = {
            "dataset": "sentence-transformers/NanoBEIR-en",
            "revision": "main",
            "datasets": ["msmarco"],
        }
        assert document["evaluation"] == {"nanobeir": {**nanobeir, "at_k": 10}}
        assert {"guessed evaluation.nanobeir.dataset", "nanobeir_revision"} <= set(unknown)
        assert not any(key.startswith("evaluator ") for key in unknown)
        assert {claim.dataset for claim in claims} == {"NanoMSMARCO"}
        assert by_name(match_claims(parse_card(card.text), document["evaluation"])) == {
            "NanoMSMARCO": ("nanobeir", None, "")
        }
    elif evaluator == "TripletEvaluator":  # guessed like the retrieval data: acme/toy-rerank, no cut-off
        assert "guessed evaluation.triplet (toy-rerank-dev)" in unknown
        assert not any(key.startswith("evaluator ") for key in unknown)
        entry = {"dataset": "acme/toy-rerank", "revision": "main", "config": "default", "split": "dev"}
        assert document["evaluation"] == {"triplet": [entry]}
        assert {(claim.dataset, claim.metric) for claim in claims} == {("toy-rerank-dev", "cosine_accuracy")}
        assert by_name(match_claims(parse_card(card.text), document["evaluation"])) == {
            "toy-rerank-dev": ("triplet", 0, "")
        }
    elif evaluator:
        raise AssertionError(f"no expectation for the evaluator {evaluator}")
    else:
        assert "evaluation" not in document
    _validate_filled(document, built.missing)


def _check_bi_loss(given: dict[str, Any], loss: dict[str, Any], unknown: dict[str, str]) -> None:
    """The loss, its non-default parameters, the loss it wraps and its guide model, or the gap named."""
    assert loss["name"] == given["name"]
    functions = {"similarity_fct"}  # given by name in case.json; a recipe cannot set a function
    assert loss.get("params", {}) == {k: v for k, v in given["kwargs"].items() if k not in functions}
    for key in functions & set(given["kwargs"]):
        assert given["kwargs"][key] in unknown[f"loss.params.{key}"]
    if "inner" in given:
        assert loss["inner"] == {"name": given["inner"]["name"]}
        assert "inner_loss_params" in unknown  # the card prints the wrapped loss's class only
    else:
        assert "inner" not in loss
    # releases before 5 print the guide's architecture, not its repo id: a gap
    if "guide" not in given or "loss.guide" in unknown:
        assert "guide" not in loss
    else:
        assert loss["guide"] == {"repo": given["guide"]["id"], "revision": "main"}
        assert "guessed loss.guide.revision" in unknown


@pytest.mark.slow
@pytest.mark.parametrize("version", sorted({folder.parent.name for folder in BI_FOLDERS}))
def test_cli_writes_bi_encoder_recipes_and_refuses_other_cards(version: str, hub, toy_data, tmp_path):
    from hubrerank.hub import publish

    for name in ("mnrl-ir", "matryoshka-mnrl", "untrained"):
        card = Generated(CORPUS / "bi-encoder" / version / name)
        ref = publish(card.repo_id, {"README.md": card.text.encode()}, message="card")

        result = run_cli(
            "recipe", "from-card", f"{card.repo_id}@{ref.sha}", "-o", str(tmp_path / f"{name}.yaml")
        )

        if name == "untrained":
            assert result.exit_code == 2, result.output
            assert "was not written by sentence-transformers' trainer" in result.output
        else:
            assert result.exit_code == 0, result.output
            assert "kind: bi-encoder" in (tmp_path / f"{name}.yaml").read_text()


@pytest.mark.parametrize("version", ["4.1.0", "6.2.0", "6.3.0"])
def test_verify_checks_a_bi_encoder_cards_retrieval_claims_against_the_plan(version: str):
    from hubrerank.reproducibility.claims import claims_from_st_card
    from hubrerank.reproducibility.st_card import parse_card

    card = parse_card(Generated(CORPUS / "bi-encoder" / version / "mnrl-ir").text)
    entry = {"dataset": "acme/toy-rerank", "revision": "f" * 40, "config": "default", "split": "dev"}
    entry["at_k"] = 10

    claims, unchecked = claims_from_st_card(card, {"retrieval": [entry]})

    assert unchecked == []
    assert {claim.metric for claim in claims} == {
        *(f"{name}@{k}" for name in ("accuracy", "precision", "recall") for k in (1, 3, 5, 10)),
        "ndcg@10",
        "mrr@10",
        "map@100",
    }
    assert all(claim.result == {"task": "retrieval", **entry} for claim in claims)
    ndcg = next(c.value for c in card.claims if c.metric == "cosine_ndcg@10")
    assert next(c.value for c in claims if c.metric == "ndcg@10") == ndcg


TRIPLET_ENTRY = {"dataset": "acme/toy-rerank", "revision": "f" * 40, "config": "default", "split": "dev"}


@pytest.mark.parametrize("version", sorted({folder.parent.name for folder in BI_FOLDERS}))
def test_verify_checks_every_bi_encoder_cards_triplet_claims_against_the_plan(version: str):
    """Every release's TripletEvaluator card claims cosine_accuracy (the model's similarity), which the
    plan's triplet entry re-measures under that name."""
    from hubrerank.reproducibility.claims import claims_from_st_card
    from hubrerank.reproducibility.st_card import parse_card

    card = parse_card(Generated(CORPUS / "bi-encoder" / version / "triplet").text)

    claims, unchecked = claims_from_st_card(card, {"triplet": [TRIPLET_ENTRY]})

    assert unchecked == []
    assert [(claim.metric, claim.value) for claim in claims] == [
        ("cosine_accuracy", c.value) for c in card.claims
    ]
    assert all(claim.result == {"task": "triplet", **TRIPLET_ENTRY} for claim in claims)


def _triplet_card(metrics: list[str], parameters: dict[str, Any] | None = None) -> str:
    """The 6.2.0 triplet card claiming ``metrics`` (as cards whose evaluator ran with several similarity
    functions do) and, with ``parameters``, printing the evaluator's parameters."""
    text = (CORPUS / "bi-encoder" / "6.2.0" / "triplet" / "README.md").read_text()
    claimed = "".join(f"    - type: {name}\n      value: 0.5\n      name: {name}\n" for name in metrics)
    text = text.replace(
        "    - type: cosine_accuracy\n      value: 1.0\n      name: Cosine Accuracy\n", claimed
    )
    if parameters:
        evaluated = "* Evaluated with [<code>TripletEvaluator</code>]"
        start = text.index(evaluated)
        end = text.index("\n", start)
        text = (
            text[:end]
            + " with these parameters:\n  ```json\n  "
            + json.dumps(parameters)
            + "\n  ```"
            + text[end:]
        )
    return text


@pytest.mark.parametrize(
    ("metrics", "unchecked"),
    [
        # all four similarities and their maximum: what a TripletEvaluator given every similarity claims
        (["cosine_accuracy", "dot_accuracy", "euclidean_accuracy", "manhattan_accuracy", "max_accuracy"], []),
        # a maximum over two similarities is not the re-run's maximum over four: left unchecked, not failed
        (["cosine_accuracy", "dot_accuracy", "max_accuracy"], ["toy-rerank-dev max_accuracy"]),
        (["cosine_accuracy", "accuracy"], ["toy-rerank-dev accuracy"]),  # a name the evaluator never gives
    ],
)
def test_a_triplet_claim_the_re_run_does_not_measure_is_unchecked(metrics: list[str], unchecked: list[str]):
    from hubrerank.reproducibility.claims import claims_from_st_card
    from hubrerank.reproducibility.st_card import parse_card

    card = parse_card(_triplet_card(metrics))

    claims, left = claims_from_st_card(card, {"triplet": [TRIPLET_ENTRY]})

    assert left == unchecked
    assert [claim.metric for claim in claims] == [
        name for name in metrics if f"toy-rerank-dev {name}" not in left
    ]


def test_a_triplet_evaluator_with_a_margin_is_not_re_run(toy_data):
    from hubrerank.reproducibility.card_claims import match_claims
    from hubrerank.reproducibility.from_card import recipe_from_card
    from hubrerank.reproducibility.st_card import parse_card

    text = _triplet_card(
        ["cosine_accuracy"], {"margin": {"cosine": 0.1, "dot": 0, "euclidean": 0, "manhattan": 0}}
    )
    ref = ResolvedRef("acme/triplet-margin", "f" * 40, "model", "main")

    built = recipe_from_card(ref, text)

    assert "evaluation" not in built.document
    assert built.unknown["evaluator toy-rerank-dev"] == (
        "TripletEvaluator on 'toy-rerank-dev' ran with margin, which hubrerank's evaluation.triplet does not "
        "set; its claims are not checked"
    )
    assert by_name(match_claims(parse_card(text), {"triplet": [TRIPLET_ENTRY]})) == {}


def test_verify_re_runs_a_bi_encoder_cards_triplets_when_its_training_is_not_known(toy_data, tmp_path):
    """A card without its base model cannot be retrained, but verify still re-runs its evaluations, checked
    for the card's kind (a bi-encoder's triplet task)."""
    from hubrerank.reproducibility.verify import read_subject

    text = (CORPUS / "bi-encoder" / "6.2.0" / "triplet" / "README.md").read_text()
    (tmp_path / "README.md").write_text(text.replace("base_model: corpus/tiny-bert-st\n", ""))
    ref = ResolvedRef("acme/triplet-card", "f" * 40, "model", "main")

    subject = read_subject(ref, tmp_path, training=False)

    assert subject.recipe is None
    assert subject.evaluation["triplet"][0]["dataset"] == "acme/toy-rerank"
    claims = [(claim.result["task"], claim.metric) for claim in subject.claims]
    assert claims == [("triplet", "cosine_accuracy")]


def test_a_crlf_card_keeps_no_carriage_returns():
    from hubrerank.reproducibility.st_card import parse_card

    card = Generated(CORPUS / "6.2.0" / "bce-reranking")

    parsed = parse_card(card.text.replace("\n", "\r\n"))

    assert parsed == parse_card(card.text)
    assert parsed.all_args["lr_scheduler_type"] == "cosine"


@pytest.mark.parametrize(
    ("parameters", "evaluation"),
    [
        ({"dataset_names": ["msmarco"], "dataset_id": "acme/NanoBEIR-de"}, "acme/NanoBEIR-de"),
        ({"dataset_names": ["msmarco"], "truncate_dim": 16}, None),  # hubrerank encodes untruncated
    ],
)
def test_a_bi_encoder_cards_nanobeir_mean_section_gives_the_dataset_or_is_not_re_run(
    parameters: dict[str, Any], evaluation: str | None
) -> None:
    """A NanoBEIREvaluator section (the mean's, as a card of several subsets prints it) names the dataset;
    one run with settings hubrerank's NanoBEIR retrieval does not take is not re-run at all."""
    from hubrerank.reproducibility.card_claims import match_claims
    from hubrerank.reproducibility.from_card import recipe_from_card
    from hubrerank.reproducibility.st_card import parse_card

    text = (CORPUS / "bi-encoder" / "6.2.0" / "nanobeir" / "README.md").read_text()
    name = "NanoBEIR_mean_16" if "truncate_dim" in parameters else "NanoBEIR_mean"
    claim = (
        "  - task:\n      type: nano-beir\n      name: Nano BEIR\n    dataset:\n"
        f"      name: {name}\n      type: {name}\n    metrics:\n    - type: cosine_ndcg@10\n"
        "      value: 0.2758\n      name: Cosine Ndcg@10\n"
    )
    section = (
        f"#### Nano BEIR\n\n* Dataset: `{name}`\n* Evaluated with [<code>NanoBEIREvaluator</code>](https://sbert.net)"
        f" with these parameters:\n  ```json\n  {json.dumps(parameters)}\n  ```\n\n"
    )
    text = text.replace("  results:\n", "  results:\n" + claim, 1).replace(
        "<!--\n## Bias", section + "<!--\n## Bias", 1
    )
    card = parse_card(text)
    assert {claim.dataset for claim in card.claims} == {"NanoMSMARCO", name}

    built = recipe_from_card(ResolvedRef("corpus/bi-nano", "f" * 40, "model", "main"), text)

    if evaluation is None:
        assert "evaluation" not in built.document and f"evaluator {name}" in built.unknown
    else:
        nanobeir = {"dataset": evaluation, "revision": "main", "datasets": ["msmarco"], "at_k": 10}
        assert built.document["evaluation"] == {"nanobeir": nanobeir}
        assert "guessed evaluation.nanobeir.dataset" not in built.unknown
        matched = by_name(match_claims(card, built.document["evaluation"]))
        assert matched == {"NanoMSMARCO": ("nanobeir", None, ""), name: ("nanobeir", None, "")}


def test_the_corpus_covers_sparse_encoder_releases_and_losses():
    versions = {folder.parent.name for folder in SPARSE_FOLDERS}
    assert {
        "5.0.0",
        "5.1.0",
        "5.2.0",
        "5.3.0",
        "5.4.0",
        "5.5.0",
        "5.6.0",
        "5.7.0",
        "6.0.0",
        "6.3.0",
    } <= versions
    assert len(versions) >= 22  # every release from 5.0 (21) and 5.0.0+contemporary
    losses = {card.case["loss"]["inner"]["name"] for card in SPARSE_CARDS if "loss" in card.case}
    assert {"SparseMultipleNegativesRankingLoss", "SparseMarginMSELoss", "SparseCoSENTLoss"} <= losses


@pytest.mark.parametrize(
    "card", SPARSE_CARDS, ids=[f"{c.folder.parent.name}/{c.folder.name}" for c in SPARSE_CARDS]
)
def test_sparse_encoder_recipe_gives_back_every_argument_or_names_it(card: Generated, toy_data):
    """A SparseEncoderTrainer card: the sparse-encoder kind, SpladeLoss (or CachedSpladeLoss) with its
    regularizer weights and the loss it wraps, read from the printed repr with its non-default parameters
    (none here), the arguments, the training data, and the evaluator's data or NanoBEIR subsets."""
    from hubrerank.errors import InputError
    from hubrerank.reproducibility.card_claims import match_claims
    from hubrerank.reproducibility.from_card import recipe_from_card
    from hubrerank.reproducibility.st_card import is_st_card, parse_card

    case = card.case
    if case.get("api") == "untrained":
        assert not is_st_card(card.text)
        with pytest.raises(InputError, match="not written by sentence-transformers' trainer"):
            parse_card(card.text)
        return

    built = recipe_from_card(ResolvedRef(card.repo_id, "f" * 40, "model", "main"), card.text)

    document, unknown = built.document, built.unknown
    model = case["model"]
    assert document["base_model"] == {"repo": model["id"], "revision": model["revision"]}
    assert document["model"] == {"kind": "sparse-encoder", "max_length": model["max_seq_length"]}
    assert "model.modules" not in unknown  # MLM transformer -> SpladePooling, as SparseEncoder builds it
    assert document["environment"]["sentence_transformers"] == case["versions"]["sentence-transformers"]
    given = card.given_args()
    assert document.get("seed", 42) == given.get("seed", 42)
    assert document["loss"] == {
        "name": case["loss"]["name"],
        "params": case["loss"]["kwargs"],
        "inner": {"name": case["loss"]["inner"]["name"]},
    }
    assert "loss.inner" not in unknown
    _check_args(given, document["args"], unknown, "sparse-encoder")
    _check_train(card, document["train"], unknown)
    evaluator = (case.get("evaluator") or {}).get("name")
    claims = parse_card(card.text).claims
    if evaluator == "SparseInformationRetrievalEvaluator":
        assert "guessed evaluation.retrieval (toy-rerank-dev)" in unknown  # the data is acme/toy-rerank
        entry = {"dataset": "acme/toy-rerank", "revision": "main", "config": "default", "split": "dev"}
        assert document["evaluation"] == {"retrieval": [{**entry, "at_k": 10}]}
        assert by_name(match_claims(parse_card(card.text), document["evaluation"])) == {
            "toy-rerank-dev": ("retrieval", 0, "")
        }
    elif evaluator == "SparseNanoBEIREvaluator":
        nanobeir = {
            "dataset": "sentence-transformers/NanoBEIR-en",
            "revision": "main",
            "datasets": ["msmarco"],
        }
        assert document["evaluation"] == {"nanobeir": {**nanobeir, "at_k": 10}}
        assert {claim.dataset for claim in claims} == {"NanoMSMARCO"}
        assert by_name(match_claims(parse_card(card.text), document["evaluation"])) == {
            "NanoMSMARCO": ("nanobeir", None, "")
        }
    elif evaluator:
        raise AssertionError(f"no expectation for the evaluator {evaluator}")
    else:
        assert "evaluation" not in document
    _validate_filled(document, built.missing)


@pytest.mark.parametrize(
    "version", sorted({f.parent.name for f in SPARSE_FOLDERS if f.name == "splade-mnrl-ir"})
)
def test_verify_checks_a_sparse_cards_retrieval_claims_against_the_plan(version: str):
    """Every claim of the card's SparseInformationRetrievalEvaluator is placed in the plan, under
    hubrerank's metric name, with the card's value: the ranking metrics and the sparsity."""
    from hubrerank.reproducibility.claims import claims_from_st_card
    from hubrerank.reproducibility.st_card import parse_card

    card = parse_card(Generated(CORPUS / "sparse-encoder" / version / "splade-mnrl-ir").text)
    entry = {"dataset": "acme/toy-rerank", "revision": "f" * 40, "config": "default", "split": "dev"}
    entry["at_k"] = 10

    claims, unchecked = claims_from_st_card(card, {"retrieval": [entry]})

    assert unchecked == []
    ranking = {
        *(f"{name}@{k}" for name in ("accuracy", "precision", "recall") for k in (1, 3, 5, 10)),
        "ndcg@10",
        "mrr@10",
        "map@100",
    }
    assert ranking <= {claim.metric for claim in claims}
    assert all(claim.result == {"task": "retrieval", **entry} for claim in claims)
    ndcg = next(c.value for c in card.claims if c.metric == "dot_ndcg@10")
    assert next(c.value for c in claims if c.metric == "ndcg@10") == ndcg


@pytest.mark.parametrize(
    "card", MULTI_VECTOR_CARDS, ids=[f"{c.folder.parent.name}/{c.folder.name}" for c in MULTI_VECTOR_CARDS]
)
def test_multi_vector_recipe_gives_back_every_argument_or_names_it(card: Generated, toy_data):
    """A MultiVectorEncoderTrainer card: the multi-vector kind, the loss, the arguments, the training data,
    and the evaluator's data or NanoBEIR subset, each claim placed in the plan."""
    from hubrerank.errors import InputError
    from hubrerank.reproducibility.card_claims import match_claims
    from hubrerank.reproducibility.from_card import recipe_from_card
    from hubrerank.reproducibility.st_card import is_st_card, parse_card

    case = card.case
    if case.get("api") == "untrained":
        assert not is_st_card(card.text)
        with pytest.raises(InputError, match="not written by sentence-transformers' trainer"):
            parse_card(card.text)
        return

    built = recipe_from_card(ResolvedRef(card.repo_id, "f" * 40, "model", "main"), card.text)

    document, unknown = built.document, built.unknown
    model = case["model"]
    assert document["base_model"] == {"repo": model["id"], "revision": model["revision"]}
    assert document["model"] == {"kind": "multi-vector", "max_length": model["max_seq_length"]}
    assert "model.modules" not in unknown  # Transformer -> Dense -> MultiVectorMask -> Normalize
    assert document["loss"] == {"name": case["loss"]["name"]}
    printed = next(d.loss_params for d in parse_card(card.text).train_datasets if d.loss)
    if printed.get("similarity_fct"):  # 6.0 prints the MaxSim the loss took from the model, by name
        assert "the loss takes the model's own" in unknown["loss.params.similarity_fct"]
    given = card.given_args()
    assert document.get("seed", 42) == given.get("seed", 42)
    _check_args(given, document["args"], unknown, "multi-vector")
    _check_train(card, document["train"], unknown)
    evaluator = (case.get("evaluator") or {}).get("name")
    if evaluator == "MultiVectorInformationRetrievalEvaluator":
        assert "guessed evaluation.retrieval (toy-rerank-dev)" in unknown  # the data is acme/toy-rerank
        entry = {"dataset": "acme/toy-rerank", "revision": "main", "config": "default", "split": "dev"}
        assert document["evaluation"] == {"retrieval": [{**entry, "at_k": 10}]}
        assert by_name(match_claims(parse_card(card.text), document["evaluation"])) == {
            "toy-rerank-dev": ("retrieval", 0, "")
        }
    elif evaluator == "MultiVectorNanoBEIREvaluator":
        nanobeir = {
            "dataset": "sentence-transformers/NanoBEIR-en",
            "revision": "main",
            "datasets": ["msmarco"],
        }
        assert document["evaluation"] == {"nanobeir": {**nanobeir, "at_k": 10}}
    elif evaluator:
        raise AssertionError(f"no expectation for the evaluator {evaluator}")
    else:
        assert "evaluation" not in document
    _validate_filled(document, built.missing)


def test_the_corpus_covers_multi_vector_releases_and_losses():
    versions = {folder.parent.name for folder in MULTI_VECTOR_FOLDERS}
    assert {"6.0.0", "6.0.1", "6.1.0", "6.2.0", "6.3.0"} <= versions  # every release from the first
    losses = {card.case["loss"]["name"] for card in MULTI_VECTOR_CARDS if "loss" in card.case}
    assert {"MultiVectorMultipleNegativesRankingLoss", "MultiVectorMarginMSELoss"} <= losses


@pytest.mark.parametrize(
    "version", sorted({f.parent.name for f in MULTI_VECTOR_FOLDERS if f.name == "mv-mnrl-ir"})
)
def test_verify_checks_a_multi_vector_cards_retrieval_claims_against_the_plan(version: str):
    """Every claim of the card's MultiVectorInformationRetrievalEvaluator is placed in the plan, under
    hubrerank's metric name (without ``maxsim_``), with the card's value."""
    from hubrerank.reproducibility.claims import claims_from_st_card
    from hubrerank.reproducibility.st_card import parse_card

    card = parse_card(Generated(CORPUS / "multi-vector" / version / "mv-mnrl-ir").text)
    entry = {"dataset": "acme/toy-rerank", "revision": "f" * 40, "config": "default", "split": "dev"}
    entry["at_k"] = 10

    claims, unchecked = claims_from_st_card(card, {"retrieval": [entry]})

    assert unchecked == []
    assert {"ndcg@10", "mrr@10", "map@100", "accuracy@1", "recall@10"} <= {claim.metric for claim in claims}
    assert all(claim.result == {"task": "retrieval", **entry} for claim in claims)
    ndcg = next(c.value for c in card.claims if c.metric == "maxsim_ndcg@10")
    assert next(c.value for c in claims if c.metric == "ndcg@10") == ndcg
