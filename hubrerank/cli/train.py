"""``hubrerank train RECIPE``: train a cross-encoder (or a bi-encoder retriever) from a YAML recipe,
optionally publishing it."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from hubrerank.cli._errors import ExitCode
from hubrerank.cli._output import on_own_cores


@click.command("train")
@click.argument("recipe", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder for the model and its record. Default: ./out/<recipe name>.",
)
@click.option("--push", metavar="REPO_ID", help="Publish the trained model to REPO_ID in one commit.")
@click.option(
    "--resume", is_flag=True, help="Continue the interrupted run in --out from its last checkpoint."
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a recipe key before validation, e.g. --set args.learning_rate=3e-5 (value read as YAML).",
)
@click.option(
    "--trust-remote-code",
    is_flag=True,
    help="Allow the base model's own Python code to run (a recipe cannot ask for this).",
)
@on_own_cores
def train(
    recipe: Path,
    out: Path | None,
    push: str | None,
    resume: bool,
    overrides: tuple[str, ...],
    trust_remote_code: bool,
) -> None:
    """Train a cross-encoder (or, with model.kind: bi-encoder, a retriever) from RECIPE, pinning every
    model and dataset to a commit sha.

    Writes the model, its card, hubrerank.yaml (the resolved recipe, environment, metrics),
    eval_results.json and training_log.jsonl to --out. Works under
    `torchrun --nproc_per_node=N -m hubrerank train ...`.
    """
    from hubrerank.training.trainer import train_file

    try:
        train_file(
            recipe,
            list(overrides),
            out,
            push=push,
            resume=resume,
            trust_remote_code=trust_remote_code,
            echo=click.echo,
        )
    except KeyboardInterrupt:
        options = [f"--set {shlex.quote(item)}" for item in overrides] + ([f"--out {out}"] if out else [])
        options += [f"--push {push}"] if push else []
        again = " ".join(["hubrerank train", str(recipe), *options, "--resume"])
        click.echo(f"Interrupted; continue from the last checkpoint with: {again}", err=True)
        raise SystemExit(ExitCode.INTERRUPTED) from None
