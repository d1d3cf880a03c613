"""What the evaluation commands share when they print and write: quiet loaders, output files."""

from __future__ import annotations

from pathlib import Path

import click


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
