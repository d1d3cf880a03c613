"""The ``hubrerank`` command line: thin click commands that parse, delegate and format.

Command groups live in one module each and are imported only when invoked, so that ``--hub`` is
applied before anything imports huggingface_hub or datasets, and ``hubrerank --help`` stays fast.
Exit codes and error reporting live in :mod:`hubrerank.cli._errors`.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import click

from hubrerank import __version__
from hubrerank.cli._errors import (
    DEBUG_ENV,
    remember_debug,
    report_error,
    report_internal_error,
    reset_debug,
)
from hubrerank.errors import HubrerankError

# command name -> "module:attribute" of the click command or group implementing it
COMMANDS: dict[str, str] = {
    "hub": "hubrerank.cli.hub:hub",
    "data": "hubrerank.cli.data:data",
    "train": "hubrerank.cli.train:train",
    "recipe": "hubrerank.cli.recipe:recipe",
    "eval": "hubrerank.cli.eval:eval_command",
    "rerank": "hubrerank.cli.eval:rerank",
    "pipeline": "hubrerank.cli.pipeline:pipeline",
    "card": "hubrerank.cli.card:card",
    "verify": "hubrerank.cli.reproduce:verify",
    "reproduce": "hubrerank.cli.reproduce:reproduce",
    "ci": "hubrerank.cli.ci:ci",
    "upload": "hubrerank.cli.upload:upload",
    "benchmark": "hubrerank.cli.benchmark:benchmark",
    "leaderboard": "hubrerank.cli.benchmark:leaderboard",
    "keys": "hubrerank.cli.keys:keys",
    "export": "hubrerank.cli.export:export",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use, and that maps every outcome to an exit code.

    A registered command whose module fails to import is an internal error, never a missing command.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; errors the user can act on exit 2, Ctrl-C exits 130 (before click's Abort)."""
        try:
            return super().invoke(ctx)
        except (HubrerankError, click.ClickException, click.Abort, KeyboardInterrupt) as error:
            ctx.exit(report_error(error))

    def main(
        self, args: Sequence[str] | None = None, *rest: Any, standalone_mode: bool = True, **kwargs: Any
    ) -> Any:
        """Click's main; standalone (the console), an unexpected exception exits 3 with one line."""
        if not standalone_mode:  # a caller in Python (the demo, benchmarks) gets the exception itself
            return super().main(args, *rest, standalone_mode=False, **kwargs)
        reset_debug()
        try:
            return super().main(args, *rest, **kwargs)
        except Exception as error:
            raise SystemExit(report_internal_error(error, args)) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hubrerank")
@click.option(
    "--hub",
    envvar="HUBRERANK_HUB",
    metavar="URL|local",
    help="The Hub to talk to: a URL, or 'local' for the embedded Hub. "
    "Default: $HF_ENDPOINT, else https://huggingface.co.",
)
@click.option(
    "--debug",
    is_flag=True,
    envvar=DEBUG_ENV,
    is_eager=True,
    expose_value=False,
    callback=remember_debug,
    help=f"On an internal error, print the traceback instead of writing it to a log file. Env: {DEBUG_ENV}.",
)
def cli(hub: str | None) -> None:
    """Build, train, publish and reproduce rerankers on the Hugging Face Hub.

    Exit codes: 0 success (PASS), 1 a failed check (verify, reproduce, data validate), 2 bad input or
    nothing to check, 3 internal error (a bug), 130 interrupted (docs/exit-codes.md).
    """
    from hubrerank.endpoint import configure_hub

    configure_hub(hub)


def main() -> None:
    """Console entry point (``hubrerank`` and ``python -m hubrerank``)."""
    cli(prog_name="hubrerank")
