"""``hubrerank upload``: publish a local folder (a base model, a dataset, any files) as one commit."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.argument("repo_id", metavar="ORG/NAME")
@click.option(
    "--repo-type",
    type=click.Choice(["model", "dataset"]),
    default="model",
    show_default=True,
    help="The kind of repo to publish to.",
)
@click.option("--private", is_flag=True, help="Create the repo private.")
@click.option("--tag", metavar="NAME", help="Tag the new commit.")
@click.option("-m", "--message", help="The commit message (default: Upload FOLDER).")
def upload(
    folder: Path, repo_id: str, repo_type: str, private: bool, tag: str | None, message: str | None
) -> None:
    """Publish every file of FOLDER to the repo ORG/NAME in one commit on the Hub in use.

    For a base model on an offline Hub (`--hub local`), a dataset folder, or anything a recipe or
    `data build` should read by repo id. Prints ORG/NAME@<commit sha>.
    """
    from hubrerank.hub import publish_folder

    ref = publish_folder(
        folder,
        repo_id,
        repo_type=repo_type,
        message=message,
        private=private,
        tag=tag,  # type: ignore[arg-type]
    )
    click.echo(f"{ref.repo_id}@{ref.sha}")
