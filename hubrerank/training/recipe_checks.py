"""The checks a recipe document passes before it is a :class:`~hubrerank.training.recipe.Recipe`: its form
against ``recipe.schema.json`` (each error names the key path, a misspelt key the likely one), then its
meaning for its model kind: the loss against the loss registry and its signature (parameter values, a
guide model, the inner loss of a wrapper, ``model.num_labels``, the training datasets' label columns) and
the evaluation tasks the kind is judged by.

:func:`~hubrerank.training.recipe.validate` runs them; the training arguments are checked in
:mod:`hubrerank.training.recipe`, beside :meth:`~hubrerank.training.recipe.Recipe.training_arguments`,
which sets the ones a recipe may not.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from hubrerank.errors import RecipeError
from hubrerank.kinds.spec import KindSpec
from hubrerank.suggestions import did_you_mean
from hubrerank.training.losses import (
    LOSSES_BY_KIND,
    NUMBER_LIST_PARAMS,
    OBJECT_PARAMS,
    TENSOR_PARAMS,
    LossInfo,
    find_loss,
    loss_parameters,
)
from hubrerank.training.recipe_yaml import format_path

SCHEMA_PATH = Path(__file__).with_name("recipe.schema.json")


@cache
def _schema_validator() -> Any:
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def check_schema(document: Mapping[str, Any], source: str) -> None:
    """Refuse a document ``recipe.schema.json`` rules out, with the first error's key path."""
    from jsonschema.exceptions import best_match

    error = best_match(_schema_validator().iter_errors(document))
    if error is None:
        return
    path = format_path(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = error.schema.get("properties", {})
        extra = sorted(set(error.instance) - set(allowed))
        key = f"{path}.{extra[0]}" if path else extra[0]
        raise RecipeError(
            f"{source}: {key} is not a recipe key{did_you_mean(extra[0], allowed) or '.'} "
            f"Allowed here: {', '.join(allowed)}"
        )
    if error.validator == "required":
        missing = next(key for key in error.validator_value if key not in error.instance)
        key = f"{path}.{missing}" if path else missing
        raise RecipeError(f"{source}: {key} is missing (see docs/recipe.md)")
    if error.validator == "const" and path == "hubrerank":
        raise RecipeError(
            f"{source}: hubrerank: {error.instance!r} is not a recipe version this hubrerank reads; use 1"
        )
    if error.validator == "oneOf" and path == "train":
        raise RecipeError(
            f"{source}: train must be a dataset mapping (dataset, revision, config, split) or a list of them"
        )
    where = path or "(top level)"
    raise RecipeError(f"{source}: {where}: {_schema_message(error)}")


def _schema_message(error: Any) -> str:
    if error.validator == "pattern":
        return f"{error.instance!r} is not a valid name (letters, digits, '-', '_', '.'; ORG/NAME for repos)"
    if error.validator == "anyOf" and error.schema.get("description", "").startswith("Plain data"):
        return f"{error.instance!r} is not plain data (strings, numbers, booleans, lists and mappings)"
    return error.message


def check_loss(node: dict[str, Any], kind: KindSpec, source: str) -> LossInfo:
    """Check ``loss`` (and its ``inner`` loss and ``guide`` model) for ``kind``; write out canonical names.
    Return the loss that reads the data."""
    info = find_loss(node["name"], source, kind.name)
    node["name"] = info.name
    _check_loss_params(info, node["params"], source, "loss.params")
    if info.guide and "guide" not in node:
        raise RecipeError(
            f"{source}: loss.guide is missing: {info.name} needs a guide model ({{repo: ORG/NAME}})"
        )
    if "guide" in node and not info.guide:
        raise RecipeError(f"{source}: loss.guide: {info.name} takes no guide model")
    if info.wrapped:
        wrappers = [other.name for other in LOSSES_BY_KIND[kind.name].values() if other.wrapper]
        raise RecipeError(
            f"{source}: loss.name: {info.name} trains only inside {', '.join(wrappers[:-1])} or "
            f"{wrappers[-1]}, which keep the vectors sparse; write loss: {{name: {wrappers[0]}, params: "
            f"{{document_regularizer_weight: 3.0e-5}}, inner: {{name: {info.name}}}}}"
        )
    if info.wrapper and "inner" not in node:
        raise RecipeError(f"{source}: loss.inner is missing: {info.name} wraps a loss ({{name: MNRL}})")
    if "inner" in node and not info.wrapper:
        raise RecipeError(f"{source}: loss.inner: {info.name} wraps no loss")
    if not info.wrapper:
        return info
    inner = find_loss(node["inner"]["name"], source, kind.name, "loss.inner.name")
    if inner.wrapper or inner.guide:
        raise RecipeError(f"{source}: loss.inner.name: {info.name} cannot wrap {inner.name} from a recipe")
    node["inner"]["name"] = inner.name
    _check_loss_params(inner, node["inner"]["params"], source, "loss.inner.params")
    return inner


def check_evaluation(evaluation: Mapping[str, Any], kind: KindSpec, source: str) -> None:
    """A bi-encoder is judged by retrieval, NanoBEIR retrieval and triplets, a cross-encoder by reranking and
    NanoBEIR reranking (the tasks its :class:`KindSpec` names)."""
    allowed = set(kind.evaluation_tasks)
    for task in evaluation:
        if task not in allowed:
            raise RecipeError(
                f"{source}: evaluation.{task} does not evaluate a {kind.name}; "
                f"use {' or '.join(sorted(allowed))}"
            )


def _check_loss_params(info: LossInfo, params: Mapping[str, Any], source: str, where: str) -> None:
    parameters = loss_parameters(info)
    for key, value in params.items():
        path = f"{source}: {where}.{key}"
        if key not in parameters:
            raise RecipeError(
                f"{path} is not a parameter of {info.name}{did_you_mean(key, parameters) or '.'} "
                f"Its parameters: {', '.join(parameters) or 'none'}"
            )
        default = parameters[key].default
        if key in NUMBER_LIST_PARAMS:
            if (
                not isinstance(value, list)
                or not value
                or not all(_is_number(item) and item > 0 for item in value)
            ):
                raise RecipeError(f"{path} must be a list of positive numbers, got {value!r}")
        elif key in TENSOR_PARAMS:
            if not _is_number(value) or value <= 0:
                raise RecipeError(f"{path} must be a positive number, got {value!r}")
        elif key in OBJECT_PARAMS:
            allowed = OBJECT_PARAMS[key]
            if value is not None and value not in allowed:
                raise RecipeError(
                    f"{path}: {value!r} is not one of {', '.join(allowed)}{did_you_mean(str(value), allowed)}"
                )
        elif default is not inspect.Parameter.empty and not isinstance(
            default, (bool, int, float, str, type(None))
        ):
            raise RecipeError(f"{path} takes an object and cannot be set from a recipe")
        elif isinstance(value, (list, dict)):
            raise RecipeError(f"{path} must be a number, string, boolean or null, got {value!r}")
        elif isinstance(default, bool) and not isinstance(value, bool):
            raise RecipeError(f"{path} must be true or false, got {value!r}")
        elif isinstance(default, (int, float)) and not isinstance(default, bool) and not _is_number(value):
            raise RecipeError(f"{path} must be a number, got {value!r}")


def check_labels(info: LossInfo, num_labels: int, source: str) -> None:
    """``model.num_labels`` for the loss: one per class for CrossEntropyLoss, else one score per pair."""
    if info.name == "CrossEntropyLoss" and num_labels < 2:
        raise RecipeError(
            f"{source}: model.num_labels must be 2 or more for CrossEntropyLoss (one per class)"
        )
    if info.name != "CrossEntropyLoss" and num_labels != 1:
        raise RecipeError(
            f"{source}: model.num_labels must be 1 for {info.name} (one relevance score per pair)"
        )


def check_label_columns(info: LossInfo, train: list[dict[str, Any]], source: str) -> None:
    """Each training dataset's ``label_column`` and ``label_scale``: only where the loss reads labels."""
    for i, node in enumerate(train):
        chosen = [key for key in ("label_column", "label_scale") if key in node]
        if chosen and not info.labels:
            raise RecipeError(f"{source}: train[{i}].{chosen[0]}: {info.name} trains on no label column")
        if "label_scale" in node and info.name == "CrossEntropyLoss":
            raise RecipeError(f"{source}: train[{i}].label_scale: CrossEntropyLoss labels are class ids")
        column = node.get("label_column")
        if column is not None and column not in info.labels:
            raise RecipeError(
                f"{source}: train[{i}].label_column: {info.name} takes its labels from "
                f"{' or '.join(info.labels)}, not {column!r}"
            )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
