"""What the evaluation commands share: their scoring and BM25 options, quiet loaders, output files."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from hubrerank.evaluation.compare import ComparisonRequest

F = TypeVar("F", bound=Callable[..., object])


def scoring_options(command: F) -> F:
    """--batch-size, --max-length and --no-cache, as every command that scores pairs or embeds texts has
    them (the caches live in ``$HUBRERANK_HOME/scores.sqlite``), and :func:`precision_options`."""
    options = (
        click.option(
            "--batch-size",
            type=click.IntRange(min=1),
            default=ComparisonRequest.batch_size,
            show_default=True,
        ),
        click.option(
            "--max-length",
            type=click.IntRange(min=1),
            default=None,
            help="Truncate cross-encoder pairs to this many tokens.",
        ),
        click.option(
            "--no-cache",
            is_flag=True,
            help="Do not read or write the score and embedding cache ($HUBRERANK_HOME/scores.sqlite).",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return precision_options(command)


def precision_options(command: F) -> F:
    """--dtype and --device, as every command that loads a model to score or embed has them, and the
    command's threads set to the cores it may use (:func:`hubrerank.runtime.use_cores`) before it runs.

    Both are checked while the command line is parsed, so a bad value is one line and exit 2 before any
    model loads (:class:`hubrerank.runtime.Precision`).
    """
    from hubrerank.runtime import DEFAULT_DTYPE, DTYPES, check_device, check_dtype

    command = on_own_cores(command)

    options = (
        click.option(
            "--dtype",
            default=None,
            metavar="|".join(DTYPES),
            callback=lambda _ctx, _param, value: value if value is None else check_dtype(value),
            help=f"The precision models score and embed in, loaded so by sentence-transformers. Default: "
            f"{DEFAULT_DTYPE} (verify, reproduce: each claim's own). Results record it and the caches keep "
            "it apart; bfloat16 is much faster on CPUs with AVX-512 BF16 (BENCHMARKS.md).",
        ),
        click.option(
            "--device",
            default=None,
            metavar="cpu|cuda|cuda:N|mps",
            callback=lambda _ctx, _param, value: value if value is None else check_device(value),
            help="Where models run. Default: the device sentence-transformers picks (a GPU if there is one).",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command


def precision_heading(dtype: str) -> str:
    """The line above a table of results measured in ``dtype``: none for float32, whose tables read as
    they always did."""
    from hubrerank.runtime import DEFAULT_DTYPE

    return "" if dtype == DEFAULT_DTYPE else f"Measured in {dtype} (float32 is the reference precision).\n\n"


def on_own_cores(command: F) -> F:
    """``command`` running torch and the tokenizers on the cores this process may use (``$HUBRERANK_THREADS``
    overrides), so that concurrent hubrerank processes share a machine instead of fighting over it."""
    from hubrerank.runtime import use_cores

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        use_cores()
        return command(*args, **kwargs)

    return cast(F, run)


bm25_language_option = click.option(
    "--language",
    default="en",
    show_default=True,
    help="The corpus language for BM25: en removes English stopwords, any other code keeps every word; "
    "Chinese, Japanese and Korean text is split into characters either way.",
)


def check_outputs(*outputs: tuple[str, Path | None]) -> None:
    """Refuse an unwritable output file, named by its option, before any work: it would be lost."""
    from hubrerank.paths import check_writable

    for option, path in outputs:
        if path is not None:
            check_writable(path, option)


def quiet_loaders() -> None:
    """Keep stderr for our own progress: no per-file bars from datasets or transformers."""
    import datasets
    from transformers.utils import logging as transformers_logging

    datasets.disable_progress_bars()
    transformers_logging.disable_progress_bar()


def write_output(path: Path, text: str) -> None:
    """Write an output file (its folder created) and say so on stderr."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {path}", err=True)
