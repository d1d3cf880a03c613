"""Training recipes: a YAML document of data (never code) that says what to train and how to judge it.

A recipe names a model kind (``model.kind``: ``cross-encoder``, the default, ``bi-encoder``,
``sparse-encoder``, ``multi-vector``, or ``auto``:
the base model's kind, read from its config files on the Hub and written into the recipe), a base model,
training and evaluation datasets (each at a revision), a loss of that kind with plain-data parameters,
the kind's training arguments and an evaluation plan. It is read with a safe YAML loader
(:mod:`hubrerank.training.recipe_yaml`), checked against ``recipe.schema.json`` and for its loss and
evaluation (:mod:`hubrerank.training.recipe_checks`), normalized with every default written out, and its
argument keys checked here against the training arguments and the keys hubrerank sets itself
(:meth:`Recipe.training_arguments` sets them). Every problem is a :class:`RecipeError` naming the file and
key path. The resolved recipe written next to a trained model (``hubrerank.yaml``) is itself a valid recipe.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from hubrerank.errors import RecipeError
from hubrerank.evaluation.nanobeir import DEFAULT_DATASET as NANOBEIR_DATASET
from hubrerank.kinds.spec import DEFAULT_KIND, RANKED_TASKS, SPLIT_TASKS, KindSpec, get_kind
from hubrerank.refs import Ref, ResolvedRef
from hubrerank.suggestions import did_you_mean
from hubrerank.training.losses import LOSSES_BY_KIND, LossInfo
from hubrerank.training.recipe_checks import (
    check_evaluation,
    check_label_columns,
    check_labels,
    check_loss,
    check_schema,
)
from hubrerank.training.recipe_yaml import apply_overrides, parse_yaml

DEFAULT_SEED = 42
AUTO_KIND = "auto"

# ``model.kind: auto``: the base model's reference -> its pinned ref and kind (hubrerank.kinds.detect).
KindDetector = Callable[[Ref], tuple[ResolvedRef, str]]

# Training-argument keys hubrerank sets itself, and where the user says the same thing instead.
CONTROLLED_ARGS: dict[str, str] = {
    "output_dir": "hubrerank train --out sets it",
    "overwrite_output_dir": "hubrerank train --out sets it",
    "seed": "use the top-level seed key",
    "data_seed": "the top-level seed key seeds the data order too",
    "resume_from_checkpoint": "use hubrerank train --resume",
    "push_to_hub": "use hubrerank train --push REPO_ID",
    "report_to": "hubrerank writes the log history to training_log.jsonl",
    "project": "hubrerank writes the log history to training_log.jsonl",
    "load_best_model_at_end": "hubrerank keeps the best checkpoint when the recipe has an eval split",
    "metric_for_best_model": "hubrerank picks the eval split's ndcg@k",
    "greater_is_better": "hubrerank picks the eval split's ndcg@k",
    "local_rank": "torchrun sets it",
}
_CONTROLLED_PREFIXES = {
    "hub_": "use hubrerank train --push REPO_ID",
    "trackio_": CONTROLLED_ARGS["report_to"],
}


@dataclass(frozen=True)
class Recipe:
    """A validated recipe: ``document`` is the normalized YAML mapping, with every default written out.

    ``pinned`` is True for the copy :meth:`pin` returns, whose revisions were just resolved to shas: it
    is passed on as is, never resolved again.
    """

    source: str
    document: dict[str, Any]
    pinned: bool = False

    @property
    def name(self) -> str:
        return self.document["name"]

    @property
    def seed(self) -> int:
        return self.document["seed"]

    @property
    def base_model(self) -> dict[str, Any]:
        return self.document["base_model"]

    @property
    def model(self) -> dict[str, Any]:
        return self.document["model"]

    @property
    def train(self) -> list[dict[str, Any]]:
        return self.document["train"]

    @property
    def eval(self) -> dict[str, Any] | None:
        return self.document.get("eval")

    @property
    def kind(self) -> KindSpec:
        """The model kind this recipe trains: ``model.kind`` (``auto`` was resolved when validated),
        cross-encoder when absent."""
        return get_kind(self.model.get("kind", DEFAULT_KIND))

    @property
    def loss(self) -> LossInfo:
        """The loss that reads the data: ``loss.inner`` under a wrapper (MatryoshkaLoss), else ``loss``."""
        node = self.document["loss"]
        return LOSSES_BY_KIND[self.kind.name][node.get("inner", node)["name"]]

    @property
    def loss_params(self) -> dict[str, Any]:
        return self.document["loss"]["params"]

    @property
    def args(self) -> dict[str, Any]:
        return self.document["args"]

    @property
    def evaluation(self) -> dict[str, Any]:
        return self.document["evaluation"]

    @property
    def eval_name(self) -> str | None:
        """The in-training evaluator's name: ``<dataset name>-<split>``."""
        if self.eval is None:
            return None
        return f"{self.eval['dataset'].rsplit('/', 1)[-1]}-{self.eval['split']}"

    @property
    def best_metric(self) -> str | None:
        """The logged metric that picks the best checkpoint, e.g. ``eval_faq-test_ndcg@10``."""
        if self.eval is None:
            return None
        return f"eval_{self.eval_name}_{self.kind.best_metric.format(k=self.eval['at_k'])}"

    def refs(self) -> Iterator[tuple[str, dict[str, Any], str]]:
        """Every repo reference: its key path, its mapping (``repo``/``dataset``, ``revision``), its type."""
        yield "base_model", self.document["base_model"], "model"
        if "guide" in self.document["loss"]:
            yield "loss.guide", self.document["loss"]["guide"], "model"
        for index, node in enumerate(self.train):
            yield f"train[{index}]", node, "dataset"
        if self.eval is not None:
            yield "eval", self.eval, "dataset"
        for task in SPLIT_TASKS:
            for index, node in enumerate(self.evaluation.get(task, [])):
                yield f"evaluation.{task}[{index}]", node, "dataset"
        if "nanobeir" in self.evaluation:
            yield "evaluation.nanobeir", self.evaluation["nanobeir"], "dataset"

    def pin(self, resolve: Callable[[Ref], ResolvedRef]) -> Recipe:
        """A copy with every revision resolved to a commit sha; ``requested`` keeps what was asked for."""
        pinned = Recipe(self.source, copy.deepcopy(self.document), pinned=True)
        for _, node, repo_type in pinned.refs():
            repo_id = node["repo"] if repo_type == "model" else node["dataset"]
            resolved = resolve(Ref(repo_id, node["revision"], repo_type))
            node["requested"] = node.get("requested", node["revision"])
            node["revision"] = resolved.sha
        return pinned

    def as_requested(self) -> dict[str, Any]:
        """The document with each revision as requested and no recorded outputs: what defines the run."""
        document = copy.deepcopy(self.document)
        for key in ("environment", "metrics", "training"):
            document.pop(key, None)
        for _, node, _ in Recipe(self.source, document).refs():
            node["revision"] = node.pop("requested", node["revision"])
        return document

    def training_arguments(self) -> dict[str, Any]:
        """The kind's training-arguments keyword arguments (all but ``output_dir``) for this recipe.

        The recipe's ``args`` plus what hubrerank controls: the seeds, no reporting integrations, and
        with an eval split, matching eval/save schedules so that the best checkpoint can be kept.
        """
        args = dict(self.args)
        args.update(seed=self.seed, data_seed=self.seed, report_to="none")
        if self.eval is None:
            if args.get("eval_strategy", "no") != "no":
                raise RecipeError(
                    f"{self.source}: args.eval_strategy needs an eval split; add an eval section"
                )
            return args
        eval_strategy = args.setdefault("eval_strategy", "steps" if "eval_steps" in args else "epoch")
        if eval_strategy == "no":
            raise RecipeError(
                f"{self.source}: args.eval_strategy is 'no' but the recipe has an eval split to pick the "
                "best checkpoint with; use 'steps' or 'epoch', or remove the eval section"
            )
        save_strategy = args.setdefault("save_strategy", eval_strategy)
        if save_strategy != eval_strategy:
            raise RecipeError(
                f"{self.source}: args.save_strategy {save_strategy!r} differs from eval_strategy "
                f"{eval_strategy!r}; they must match to keep the best checkpoint"
            )
        if eval_strategy == "steps" and "eval_steps" in args:
            save_steps = args.setdefault("save_steps", args["eval_steps"])
            if save_steps % args["eval_steps"]:
                raise RecipeError(
                    f"{self.source}: args.save_steps ({save_steps}) must be a multiple of eval_steps "
                    f"({args['eval_steps']}) to keep the best checkpoint"
                )
        args.update(
            load_best_model_at_end=True, metric_for_best_model=self.best_metric, greater_is_better=True
        )
        return args

    def to_yaml(self) -> str:
        """The document as YAML, keys in the recipe's order."""
        return yaml.safe_dump(self.document, sort_keys=False, allow_unicode=True, width=110)


def load_recipe(path: str | Path, overrides: Sequence[str] = ()) -> Recipe:
    """Read, override (``KEY.PATH=VALUE``, values parsed as YAML) and validate the recipe at ``path``."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise RecipeError(f"{source}: cannot read the recipe ({error.strerror or error})") from None
    document = parse_yaml(text, source)
    return validate(apply_overrides(document, overrides, source), source)


def validate(document: Any, source: str, detect_kind: KindDetector | None = None) -> Recipe:
    """Check ``document`` against the schema and for meaning; return it normalized, defaults written out.

    ``model.kind: auto`` is replaced by the base model's kind, found by ``detect_kind`` (default: read
    from its config files on the Hub), with the base model pinned to the sha that was read.
    """
    if not isinstance(document, Mapping):
        raise RecipeError(f"{source}: a recipe is a YAML mapping (hubrerank: 1, name: ..., ...)")
    for path in _paths_of_key(document, "trust_remote_code"):
        raise RecipeError(
            f"{source}: {path}: a recipe cannot ask for remote code; "
            "pass --trust-remote-code to hubrerank train"
        )
    check_schema(document, source)
    detected = document.get("model", {}).get("kind") == AUTO_KIND
    document = _detected_kind(copy.deepcopy(dict(document)), source, detect_kind)
    try:
        return _checked(_normalize(document, source), source)
    except RecipeError as error:
        if not detected:
            raise
        base = document["base_model"]
        raise RecipeError(
            f"{error} (model.kind: auto found base_model {base['repo']}@{base['revision'][:12]} to be a "
            f"{document['model']['kind']})"
        ) from None


def _checked(document: dict[str, Any], source: str) -> Recipe:
    """The normalized ``document`` checked for meaning against its kind."""
    kind = get_kind(document["model"].get("kind", DEFAULT_KIND))
    info = check_loss(document["loss"], kind, source)
    if "num_labels" in kind.model_keys:
        check_labels(info, document["model"]["num_labels"], source)
    check_label_columns(info, document["train"], source)
    _check_args(document["args"], kind.name, source)
    check_evaluation(document["evaluation"], kind, source)
    recipe = Recipe(source, document)
    recipe.training_arguments()
    return recipe


def _detected_kind(document: dict[str, Any], source: str, detect_kind: KindDetector | None) -> dict[str, Any]:
    """``document`` with ``model.kind: auto`` replaced by the base model's kind; the base model is pinned
    to the sha its configs were read at, so the run trains what was looked at."""
    model = document.get("model") or {}
    if model.get("kind") != AUTO_KIND:
        return document
    if detect_kind is None:
        from hubrerank.kinds.detect import hub_model_kind as detect_kind
    node = document["base_model"]
    requested = node.get("requested", node.get("revision", "main"))
    resolved, found = detect_kind(Ref(node["repo"], node.get("revision", "main"), "model"))
    if found == "base":
        raise RecipeError(
            f"{source}: model.kind: auto: base_model {resolved.repo_id}@{resolved.sha[:12]} is a plain "
            "transformers checkpoint (no Pooling module, no scoring head) that can become any kind; "
            "set model.kind to cross-encoder, bi-encoder, sparse-encoder or multi-vector"
        )
    document["model"] = {**model, "kind": found}
    document["base_model"] = {**node, "revision": resolved.sha, "requested": requested}
    return document


def _normalize(document: dict[str, Any], source: str) -> dict[str, Any]:
    """Write out every default, so the resolved recipe says exactly what ran."""
    train = document["train"]
    normalized: dict[str, Any] = {
        "hubrerank": 1,
        "name": document["name"],
        "seed": document.get("seed", DEFAULT_SEED),
        "base_model": {"repo": document["base_model"]["repo"], **_revision(document["base_model"])},
        "model": _model(document.get("model", {}), source),
        "train": [_train_dataset(node) for node in (train if isinstance(train, list) else [train])],
    }
    if "eval" in document:
        normalized["eval"] = _dataset(document["eval"], "test", config=None, at_k=10)
    loss = document["loss"]
    normalized["loss"] = {"name": loss["name"], "params": loss.get("params", {})}
    if "inner" in loss:
        normalized["loss"]["inner"] = {
            "name": loss["inner"]["name"],
            "params": loss["inner"].get("params", {}),
        }
    if "guide" in loss:
        normalized["loss"]["guide"] = {"repo": loss["guide"]["repo"], **_revision(loss["guide"])}
    normalized["args"] = document.get("args", {})
    kind = get_kind(normalized["model"].get("kind", DEFAULT_KIND))
    evaluation = document.get("evaluation")
    if evaluation is None:
        evaluation = {kind.evaluation_task: [normalized["eval"]]} if "eval" in normalized else {}
    normalized["evaluation"] = _normalize_evaluation(evaluation, kind, source)
    for key in ("environment", "metrics", "training"):
        if key in document:
            normalized[key] = document[key]
    return normalized


def _normalize_evaluation(evaluation: Mapping[str, Any], kind: KindSpec, source: str) -> dict[str, Any]:
    """The ``evaluation`` section with every default written out."""
    normalized: dict[str, Any] = {}
    for task in SPLIT_TASKS:
        if task in evaluation:
            cut = {"at_k": 10} if task in RANKED_TASKS else {}
            normalized[task] = [_dataset(node, "test", config=None, **cut) for node in evaluation[task]]
    if "nanobeir" in evaluation:
        nanobeir = evaluation["nanobeir"]
        # a retriever searches each subset's whole corpus: only a reranker has a BM25 depth
        reranks = kind.evaluation_task == "reranking"
        for key in ("rerank_k", "always_rerank_positives"):
            if not reranks and key in nanobeir:
                raise RecipeError(
                    f"{source}: evaluation.nanobeir.{key}: a {kind.name} searches each subset's whole "
                    f"corpus and reranks no BM25 list; drop {key}"
                )
        normalized["nanobeir"] = {
            "dataset": nanobeir.get("dataset", NANOBEIR_DATASET),
            **_revision(nanobeir),
            "datasets": list(nanobeir["datasets"]),
            **({"rerank_k": nanobeir.get("rerank_k", 100)} if reranks else {}),
            "at_k": nanobeir.get("at_k", 10),
        }
        # the evaluator's default (true) is left unwritten, so records made before the key existed read alike
        if nanobeir.get("always_rerank_positives") is False:
            normalized["nanobeir"]["always_rerank_positives"] = False
    return normalized


def validate_evaluation(
    evaluation: Mapping[str, Any], source: str, kind: str = DEFAULT_KIND
) -> dict[str, Any]:
    """A recipe's ``evaluation`` section on its own, normalized and checked for ``kind``: what re-evaluating
    a model needs when the rest of its recipe (its training data, say) is not known."""
    spec = get_kind(kind)
    normalized = _normalize_evaluation(evaluation, spec, source)
    check_evaluation(normalized, spec, source)
    return normalized


def _model(node: Mapping[str, Any], source: str) -> dict[str, Any]:
    """The ``model`` section with the kind's defaults; ``kind`` is written only when not the default, so
    cross-encoder recipes (and their recorded hubrerank.yaml) read as before."""
    kind = get_kind(node.get("kind", DEFAULT_KIND))
    for key in node:
        if key not in ("kind", "max_length", *kind.model_keys):
            raise RecipeError(f"{source}: model.{key} does not apply to a {kind.name}")
    defaults = {"max_length": None, "num_labels": 1}
    model = {"kind": kind.name} if kind.name != DEFAULT_KIND else {}
    model |= {key: node.get(key, defaults[key]) for key in ("max_length", *kind.model_keys)}
    return model


def _revision(node: Mapping[str, Any]) -> dict[str, str]:
    revision = {"revision": node.get("revision", "main")}
    if "requested" in node:
        revision["requested"] = node["requested"]
    return revision


def _train_dataset(node: Mapping[str, Any]) -> dict[str, Any]:
    """A training dataset reference; ``label_column`` and ``label_scale`` only when the recipe sets them."""
    normalized = _dataset(node, "train")
    normalized.update({key: node[key] for key in ("label_column", "label_scale") if key in node})
    return normalized


def _dataset(
    node: Mapping[str, Any], split: str, config: str | None = "default", **defaults: Any
) -> dict[str, Any]:
    """A dataset reference with defaults; evaluation references default to no config, which reads the
    config holding the split (`hubrerank data build` keeps eval/test in the ``reranking`` config)."""
    normalized = {
        "dataset": node["dataset"],
        **_revision(node),
        "config": node.get("config", config),
        "split": node.get("split", split),
    }
    normalized.update({key: node.get(key, value) for key, value in defaults.items()})
    return normalized


def _check_args(args: Mapping[str, Any], kind: str, source: str) -> None:
    for key, value in args.items():
        check_argument(key, value, source, kind)


def check_argument(key: str, value: Any, source: str, kind: str = "cross-encoder") -> None:
    """Refuse a training argument hubrerank sets itself, does not know, or whose value its type rules out
    (checked against the training arguments of the model ``kind``)."""
    fields = _training_argument_types(kind)
    path = f"{source}: args.{key}"
    reason = CONTROLLED_ARGS.get(key) or next(
        (why for prefix, why in _CONTROLLED_PREFIXES.items() if key.startswith(prefix)), None
    )
    if reason and key in fields:
        raise RecipeError(f"{path} is set by hubrerank; {reason}")
    if key not in fields:
        raise RecipeError(f"{path} is not a training argument{did_you_mean(key, fields)}")
    _check_value(path, value, fields[key])


def _check_value(path: str, value: Any, annotation: Any) -> None:
    """Refuse values the argument's annotation rules out; a string for an enum must be one of its values."""
    members = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    kinds: set[type] = set()
    choices: list[str] = []
    for member in members:
        origin = typing.get_origin(member) or member
        if member is type(None):
            kinds.add(type(None))
        elif origin is float:
            kinds |= {int, float}
        elif origin in (bool, int, str, dict, list):
            kinds.add(origin)
        elif isinstance(origin, type) and issubclass(origin, enum.Enum):
            choices += [str(item.value) for item in origin]
    if choices and isinstance(value, str):
        if value not in choices:
            raise RecipeError(
                f"{path}: {value!r} is not one of {', '.join(choices)}{did_you_mean(value, choices)}"
            )
        return
    if not kinds:
        return
    if not any(isinstance(value, kind) and (kind is bool or not isinstance(value, bool)) for kind in kinds):
        names = sorted("null" if kind is type(None) else kind.__name__ for kind in kinds)
        raise RecipeError(f"{path}: {value!r} is not a valid value (expected {' or '.join(names)})")


@cache
def _training_argument_types(kind: str) -> dict[str, Any]:
    arguments_class = get_kind(kind).load("training_arguments_class")

    hints = typing.get_type_hints(arguments_class)
    return {field.name: hints[field.name] for field in dataclasses.fields(arguments_class) if field.init}


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _paths_of_key(node: Any, key: str, prefix: str = "") -> Iterator[str]:
    if isinstance(node, Mapping):
        for name, child in node.items():
            path = f"{prefix}.{name}" if prefix else str(name)
            if name == key:
                yield path
            yield from _paths_of_key(child, key, path)
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from _paths_of_key(child, key, f"{prefix}[{index}]")
