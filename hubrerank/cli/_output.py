"""What the evaluation commands share: their scoring and BM25 options, quiet loaders, output files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from hubrerank.evaluation.compare import ComparisonRequest

F = TypeVar("F", bound=Callable[..., object])


def scoring_options(command: F) -> F:
    """--batch-size, --max-length and --no-cache, as every command that scores pairs or embeds texts has
    them (the caches live in ``$HUBRERANK_HOME/scores.sqlite``)."""
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
    return command


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
