"""The ``hubrerank`` command line: thin click commands that parse, delegate and format.

Command groups live in one module each and are imported only when invoked, so that ``--hub`` is
applied before anything imports huggingface_hub or datasets, and ``hubrerank --help`` stays fast.
"""

from __future__ import annotations

import importlib

import click

from hubrerank import __version__
from hubrerank.errors import HubrerankError

# command name -> "module:attribute" of the click command or group implementing it
COMMANDS: dict[str, str] = {
    "hub": "hubrerank.cli.hub:hub",
    "data": "hubrerank.cli.data:data",
    "train": "hubrerank.cli.train:train",
    "recipe": "hubrerank.cli.recipe:recipe",
    "eval": "hubrerank.cli.eval:eval_command",
    "rerank": "hubrerank.cli.eval:rerank",
    "card": "hubrerank.cli.card:card",
    "verify": "hubrerank.cli.reproduce:verify",
    "reproduce": "hubrerank.cli.reproduce:reproduce",
    "ci": "hubrerank.cli.ci:ci",
    "upload": "hubrerank.cli.upload:upload",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use; missing modules are simply not listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._load(name) is not None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except HubrerankError as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(2)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:
                return None
            raise
        return getattr(module, attribute, None)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hubrerank")
@click.option(
    "--hub",
    envvar="HUBRERANK_HUB",
    metavar="URL|local",
    help="The Hub to talk to: a URL, or 'local' for the embedded Hub. "
    "Default: $HF_ENDPOINT, else https://huggingface.co.",
)
def cli(hub: str | None) -> None:
    """Build, train, publish and reproduce rerankers on the Hugging Face Hub."""
    from hubrerank.endpoint import configure_hub

    configure_hub(hub)


def main() -> None:
    """Console entry point (``hubrerank`` and ``python -m hubrerank``)."""
    cli(prog_name="hubrerank")
