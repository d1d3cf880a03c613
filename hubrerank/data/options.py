"""Options of ``hubrerank data build``, defined once: dataclass fields whose metadata names the CLI flag.

:class:`~hubrerank.data.build_options.BuildOptions` and :class:`~hubrerank.data.mining.MiningSettings` declare
each option with :func:`option` (flag, default, choices). The click command reads its flags, defaults and
choices from :func:`option_specs`, and the rebuild command a dataset card prints walks the same specs,
so a default or a choice is never typed twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class OptionSpec:
    """One option: its field name, CLI flag, default and allowed values (empty: any).

    ``rebuilt`` is False for the options the rebuild command writes itself (a list, a model pinned to a
    sha, a bare flag, the seed it always names) rather than as ``FLAG VALUE`` when not the default.
    """

    name: str
    flag: str
    default: Any
    choices: tuple[str, ...]
    rebuilt: bool


def option(flag: str, default: Any = None, *, choices: Sequence[str] = (), rebuilt: bool = True) -> Any:
    """A dataclass field for the CLI option ``flag`` (see :class:`OptionSpec`)."""
    return field(default=default, metadata={"flag": flag, "choices": tuple(choices), "rebuilt": rebuilt})


def option_specs(cls: type) -> dict[str, OptionSpec]:
    """The options of dataclass ``cls`` by field name, in field order; a field holding a dataclass of
    options (``BuildOptions.mining``) contributes its own options in its place."""
    specs: dict[str, OptionSpec] = {}
    for item in dataclasses.fields(cls):
        if "flag" in item.metadata:
            meta = item.metadata
            specs[item.name] = OptionSpec(
                item.name, meta["flag"], item.default, meta["choices"], meta["rebuilt"]
            )
        elif item.default_factory is not dataclasses.MISSING and dataclasses.is_dataclass(
            item.default_factory
        ):
            specs.update(option_specs(item.default_factory))
    return specs


def option_values(options: Any) -> dict[str, Any]:
    """The values of a dataclass of options by field name, nested option dataclasses flattened."""
    values: dict[str, Any] = {}
    for item in dataclasses.fields(options):
        value = getattr(options, item.name)
        if "flag" in item.metadata:
            values[item.name] = value
        elif dataclasses.is_dataclass(value):
            values.update(option_values(value))
    return values


def options_from_values(cls: type[T], values: Mapping[str, Any]) -> T:
    """An options dataclass ``cls`` built from values by field name (as :func:`option_values` gives
    them); a nested option dataclass takes its fields from the same mapping, absent ones keep defaults."""
    kwargs: dict[str, Any] = {}
    for item in dataclasses.fields(cls):  # type: ignore[arg-type]
        if "flag" in item.metadata:
            if item.name in values:
                kwargs[item.name] = values[item.name]
        elif item.default_factory is not dataclasses.MISSING and dataclasses.is_dataclass(
            item.default_factory
        ):
            kwargs[item.name] = options_from_values(item.default_factory, values)  # type: ignore[arg-type]
    return cls(**kwargs)
