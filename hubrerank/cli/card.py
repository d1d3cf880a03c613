"""``hubrerank card``: regenerate a model card from hubrerank.yaml and eval_results.json (no retraining)."""

from __future__ import annotations

import os
from pathlib import Path

import click


@click.command()
@click.argument("source", metavar="DIR|REPO[@REV]")
@click.option(
    "--repo",
    "repo_id",
    metavar="ORG/NAME",
    help="For a folder: the repo the card describes (usage snippet, --push target).",
)
@click.option("--push", is_flag=True, help="Publish README.md and .eval_results/* in one commit.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the card here instead of printing it.",
)
def card(source: str, repo_id: str | None, push: bool, out: Path | None) -> None:
    """Render the model card of a trained model folder or a model repo.

    For REPO[@REV] the recipe, results and verification reports are read at the commit REV resolves to,
    and the card pins that commit. Prints the card, writes it to --out, or with --push publishes it and
    prints REPO@<new sha>.
    """
    from hubrerank.cards.model_card import fetch_card_sources, publish_card, render_model_card
    from hubrerank.errors import InputError
    from hubrerank.hub import locate
    from hubrerank.record import read_reports

    revision = None
    if os.path.isdir(source):
        model_dir = Path(source)
    elif repo_id is not None:
        raise InputError(f"--repo is for a local folder; {source!r} is not one (the repo is taken from it)")
    else:
        ref = locate(source, "model", folder_only=True).ref
        assert ref is not None  # not a folder, so a resolved repo
        model_dir = fetch_card_sources(ref)
        repo_id, revision = ref.repo_id, ref.sha
    if push and repo_id is None:
        raise InputError(f"--push needs --repo ORG/NAME to know where the card of {source} goes")
    reports = read_reports(model_dir)
    if out is not None or not push:
        text = str(render_model_card(model_dir, repo_id, reports, revision=revision))
        if out is not None:
            out.write_text(text)
        else:
            click.echo(text, nl=False)
    if push:
        published = publish_card(model_dir, repo_id, reports, revision=revision)
        click.echo(f"{published.repo_id}@{published.sha}")
