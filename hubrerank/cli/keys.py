"""``hubrerank keys``: the key that signs re-measured results (``verify --open-pr`` / ``--push-report``).

``create`` writes an Ed25519 key, ``show`` prints its public half, ``register`` registers that to your user
on the Hub (the embedded Hub; huggingface.co decides its own badges). docs/verification.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from hubrerank.signatures import SigningKey

_KEY_FILE = click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The key file.  [default: $HUBRERANK_HOME/keys/verify-ed25519.pem]",
)


@click.group()
def keys() -> None:
    """Create and register the key that signs the results you re-measure."""


@keys.command()
@_KEY_FILE
@click.option("--force", is_flag=True, help="Replace an existing key (register the new one again).")
def create(key_file: Path | None, force: bool) -> None:
    """Create a signing key (mode 0600) and print its public key and how to register it."""
    from hubrerank.reproducibility.signing import create_key

    key, path = create_key(key_file, force=force)
    click.echo(f"wrote {path} (keep it private; in CI, pass its content as the secret HUBRERANK_SIGNING_KEY)")
    click.echo(key.public_text)
    click.echo(f"key id {key.key_id}; register it: hubrerank keys register" + _file_arg(key_file))


@keys.command()
@_KEY_FILE
def show(key_file: Path | None) -> None:
    """Print the public key (and its id) of the signing key in use."""
    click.echo(_load(key_file).public_text)


@keys.command()
@_KEY_FILE
def register(key_file: Path | None) -> None:
    """Register the public key to the token's user on the Hub, so what it signs shows as verified."""
    from hubrerank.hub import register_verify_key, whoami

    key = _load(key_file)
    kid = register_verify_key(key.public_text)
    click.echo(f"registered key {kid} to {whoami()}")


def _load(key_file: Path | None) -> SigningKey:
    from hubrerank.errors import InputError
    from hubrerank.reproducibility.signing import load_key

    loaded = load_key(key_file)
    if loaded is None:
        raise InputError("no signing key: create one (hubrerank keys create) or set $HUBRERANK_SIGNING_KEY")
    return loaded[0]


def _file_arg(key_file: Path | None) -> str:
    return "" if key_file is None else f" --key-file {key_file}"
