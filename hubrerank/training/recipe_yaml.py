"""The recipe's YAML: the dialect recipes are read in (safe, YAML 1.2 scalars, no duplicate keys) and the
``--set KEY.PATH=VALUE`` overrides applied to a recipe document before it is validated."""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any

import yaml

from hubrerank.errors import RecipeError


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML safely: no tags that build objects, duplicate keys refused, ``1e-5`` read as a number."""
    try:
        return yaml.load(text, Loader=_RecipeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{source}:{mark.line + 1}" if mark else source
        raise RecipeError(f"{where}: not a valid recipe YAML: {error.problem or error.context}") from None
    except yaml.YAMLError as error:
        raise RecipeError(f"{source}: not a valid recipe YAML: {error}") from None


def apply_overrides(document: Any, overrides: Sequence[str], source: str) -> Any:
    """Apply ``--set`` overrides such as ``args.learning_rate=3e-5`` or ``train[0].split=dev`` to a copy."""
    document = copy.deepcopy(document)
    for override in overrides:
        key, equals, text = override.partition("=")
        if not equals or not key.strip():
            raise RecipeError(f"--set {override!r}: expected KEY=VALUE, e.g. args.learning_rate=3e-5")
        parts = _key_parts(key.strip(), override)
        value = parse_yaml(text, f"--set {key}")
        node = document
        for position, part in enumerate(parts[:-1]):
            node = _child(node, part, parts[: position + 1], parts[position + 1], override)
        _assign(node, parts[-1], value, override)
    return document


def format_path(parts: Sequence[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_KEY_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _key_parts(key: str, override: str) -> list[str | int]:
    parts: list[str | int] = []
    position = 0
    for match in _KEY_PART.finditer(key):
        if match.start() != position and key[position : match.start()] != ".":
            break
        parts.append(int(match.group(2)) if match.group(2) else match.group(1))
        position = match.end()
    if position != len(key) or not parts:
        raise RecipeError(
            f"--set {override!r}: {key!r} is not a key path like args.learning_rate or train[0].split"
        )
    return [int(part) if isinstance(part, str) and part.isdigit() else part for part in parts]


def _child(node: Any, part: str | int, path: list[str | int], next_part: str | int, override: str) -> Any:
    if isinstance(node, list) and isinstance(part, int):
        if part >= len(node):
            raise RecipeError(f"--set {override!r}: {format_path(path)} is out of range ({len(node)} items)")
        return node[part]
    if isinstance(node, dict) and isinstance(part, str):
        if not isinstance(node.get(part), (dict, list)):
            node[part] = [] if isinstance(next_part, int) else {}
        return node[part]
    raise RecipeError(f"--set {override!r}: {format_path(path)} does not lead to a mapping or list")


def _assign(node: Any, part: str | int, value: Any, override: str) -> None:
    if isinstance(node, dict) and isinstance(part, str):
        node[part] = value
    elif isinstance(node, list) and isinstance(part, int) and part <= len(node):
        node[part : part + 1] = [value]
    else:
        raise RecipeError(f"--set {override!r}: cannot set {part!r} here")


class _RecipeLoader(yaml.SafeLoader):
    """The safe loader with YAML 1.2 scalars and no duplicate keys.

    YAML 1.1 reads ``no``/``yes``/``on``/``off`` as booleans (``eval_strategy: no`` would be False)
    and ``2e-5`` as a string; here only true/false are booleans and ``2e-5`` is a number.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_RecipeLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_RecipeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_RecipeLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+"
        r"|\.[0-9_]+(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
