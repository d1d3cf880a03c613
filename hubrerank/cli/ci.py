"""``hubrerank ci init``: write the release and reproduce workflows into a repository."""

from __future__ import annotations

from pathlib import Path

import click

from hubrerank.reproducibility.ci import CiSettings, init_ci


@click.group()
def ci() -> None:
    """Continuous integration: CI-verified releases and scheduled reproductions on GitHub Actions."""


@ci.command("init")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    default=Path("."),
    show_default=True,
    help="Root of the repository to write into.",
)
@click.option("--force", is_flag=True, help="Overwrite existing workflow files (an existing recipe is kept).")
@click.option(
    "--install-spec",
    default=CiSettings.install_spec,
    show_default=True,
    help="What the workflows pip-install (e.g. '.' to install the repository itself).",
)
@click.option(
    "--recipe",
    default=CiSettings.recipe,
    show_default=True,
    help="The recipe a release trains; a commented template is written there if it does not exist.",
)
@click.option("--repo", default="", help="The Hub model repo (ORG/NAME) a v* tag push releases to.")
@click.option("--hub-url", default="", help="The Hub the workflows talk to, if not https://huggingface.co.")
def init(directory: Path, force: bool, install_spec: str, recipe: str, repo: str, hub_url: str) -> None:
    """Write .github/workflows/{release,reproduce}.yml, .github/reproduce-repos.txt,
    .github/hubrerank-lock.txt (hubrerank's dependencies, exact versions and hashes) and a recipe."""
    settings = CiSettings(install_spec, recipe, repo, hub_url)
    for written in init_ci(directory, settings, force=force):
        click.echo(f"{written.action:9} {written.path}")
    click.echo(
        "Next: add the HF_TOKEN secret in the repository's settings, edit the recipe"
        + ("" if repo else ", set REPO_ID in release.yml (or rerun with --repo)")
        + ", then push a v* tag to release."
    )
