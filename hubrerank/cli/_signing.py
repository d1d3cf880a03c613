"""The signing key of the commands that publish measured results (`verify`, `reproduce`, `eval --open-pr`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from hubrerank.signatures import SigningKey

KEY_FILE_HELP = (
    "Sign the measured .eval_results entries with this key.  "
    "[default: $HUBRERANK_SIGNING_KEY, else the key of `hubrerank keys create`, if any]"
)


def signing_key(key_file: Path | None) -> SigningKey | None:
    """Load the key (before any long work) and check the token can publish; say who signs, or that the
    entries will be unsigned."""
    from hubrerank.hub import whoami
    from hubrerank.reproducibility.signing import load_key

    loaded = load_key(key_file)
    user = whoami()  # a token that cannot publish fails now, not after the evaluation
    if loaded is None:
        click.echo("note: the measured entries will be unsigned (no key: hubrerank keys create)", err=True)
        return None
    key, source = loaded
    click.echo(f"signing the measured entries as {user} with key {key.key_id} ({source})", err=True)
    return key


def open_pr_key(open_pr: bool, key_file: Path | None, models: Iterable[str]) -> SigningKey | None:
    """Check, before any measuring, that --key-file comes with --open-pr and that every model a pull
    request goes to is on the Hub; the key (None without --open-pr)."""
    if not open_pr:
        if key_file is not None:
            raise click.UsageError("--key-file signs the results of --open-pr: add --open-pr")
        return None
    from hubrerank.hub import locate

    local = [text for text in models if locate(text).ref is None]
    if local:
        raise click.UsageError(
            f"--open-pr opens pull requests on Hub models; {local[0]} is a local folder (push it first)"
        )
    return signing_key(key_file)
