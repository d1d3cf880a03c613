"""``hubrerank recipe``: recipes reconstructed from what a model repo records."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def recipe() -> None:
    """Training recipes (see docs/recipe.md)."""


@recipe.command("from-card")
@click.argument("ref", metavar="REPO[@REV]")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the recipe to this file instead of printing it.",
)
def from_card(ref: str, output: Path | None) -> None:
    """Rebuild the recipe of a model whose card sentence-transformers' trainer wrote.

    Takes the base model and revision, training datasets (id, revision, and the config and split that
    match the card's size and columns), loss and parameters, non-default training arguments and the
    evaluators from the card; what the card does not say is listed under `unknown:`. Complete it, then
    `hubrerank reproduce REPO --recipe FILE`.
    """
    from hubrerank.hub import download, resolve
    from hubrerank.refs import Ref
    from hubrerank.reproducibility.from_card import recipe_from_card

    resolved = resolve(Ref.parse(ref, "model"))
    readme = download(resolved, allow_patterns=["README.md"]) / "README.md"
    if not readme.is_file():
        raise click.ClickException(f"{resolved} has no README.md card")
    built = recipe_from_card(resolved, readme.read_text(encoding="utf-8"))
    text = built.to_yaml()
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    for key in built.missing:
        click.echo(f"to fill in: {key}: {built.unknown[key]}", err=True)
