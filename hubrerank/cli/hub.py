"""``hubrerank hub``: run the embedded Hub, manage its users, reclaim its disk, list what it holds."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from hubrerank.endpoint import hubrerank_home
from hubrerank.errors import InputError, ServerError

T = TypeVar("T")
TOKEN_ENV = "HUBRERANK_TOKEN"

_DATA_HELP = "The embedded Hub's data dir. Default: $HUBRERANK_HOME/hub (~/.cache/hubrerank/hub)."
_GRACE_HELP = "Keep staging files, blobs and commits younger than this many seconds (uploads in flight)."


def _data_dir(data: Path | None) -> Path:
    return data if data is not None else hubrerank_home() / "hub"


@click.group()
def hub() -> None:
    """The embedded Hugging Face Hub-compatible server."""


@hub.command()
@click.option("--data", type=click.Path(path_type=Path), help=_DATA_HELP)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8790, show_default=True, help="Port; 0 picks a free one.")
@click.option("--port-file", type=click.Path(path_type=Path), help="Write the port listened on to this file.")
@click.option(
    "--user",
    "users",
    multiple=True,
    metavar="NAME:@TOKEN_FILE[:ORG,ORG...]",
    help="Add or update a user who may write to NAME and its ORGs with the token in TOKEN_FILE "
    "(repeatable; same as `hub user add`). A token written in place of @TOKEN_FILE still works but "
    "shows in `ps`.",
)
@click.option(
    "--gc-every",
    type=click.FloatRange(min=1),
    default=3600,
    show_default=True,
    help="Reclaim disk (as `hub gc` does) whenever no pass ran on the data dir for this many seconds.",
)
@click.option("--gc-grace", type=click.FloatRange(min=0), default=3600, show_default=True, help=_GRACE_HELP)
@click.option("--no-gc", is_flag=True, help="Never reclaim disk by itself (run `hub gc` instead).")
def serve(
    data: Path | None,
    host: str,
    port: int,
    port_file: Path | None,
    users: tuple[str, ...],
    gc_every: float,
    gc_grace: float,
    no_gc: bool,
) -> None:
    """Serve the embedded Hub in the foreground until Ctrl-C.

    Users are kept in the data dir (`hubrerank hub user add|remove|list`); the local user is always
    there. Point clients at the server with the export line it prints. Disk is reclaimed by itself
    (stale uploads, deleted repos' bytes: see `hub gc`) unless --no-gc.
    """
    from hubrerank.server import HubServer, ensure_local_user, parse_user
    from hubrerank.server.auth import LOCAL_USER_FILE, token_in_argv
    from hubrerank.server.disk import write_atomic, write_error

    specs = [parse_user(text) for text in users]
    for text in users:
        if token_in_argv(text):
            name = text.split(":")[0]
            click.echo(
                f"Warning: --user {name}: a token on the command line is visible to every local user "
                f"(ps); use --user {name}:@TOKEN_FILE or `hubrerank hub user add {name}`",
                err=True,
            )
    data_dir = _data_dir(data)
    local_is_new = not (data_dir / LOCAL_USER_FILE).exists()
    local = ensure_local_user(data_dir)
    if local.name not in {spec.name for spec in specs}:
        specs.append(local)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("hubrerank.server.access").setLevel(logging.INFO)
    gc_every_s = None if no_gc else gc_every
    server = HubServer(
        data_dir, host=host, port=port, users=specs, gc_every_s=gc_every_s, gc_grace_s=gc_grace
    ).start()
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"Warning: listening on {host}, beyond this machine; tokens travel unencrypted", err=True)

    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        if port_file is not None:
            try:
                write_atomic(port_file, f"{server.port}\n".encode())
            except OSError as error:
                message = f"cannot write the port file {write_error(error)}"
                raise ServerError(f"{message}; free space or choose another --port-file") from None
        click.echo(f"Embedded Hub serving {data_dir} at {server.url}")
        click.echo(
            f"Users: {', '.join(server.user_names())} (manage them with: hubrerank hub user add|remove|list)"
        )
        click.echo(
            f"The local user {local.name}'s token is in {data_dir / LOCAL_USER_FILE}. Use the Hub with:"
        )
        token = local.token if local_is_new else "<your token>"
        click.echo(f"export HF_ENDPOINT={server.url} HF_HUB_DISABLE_XET=1 HF_TOKEN={token}")
        click.echo(f"Or open {server.url}/ in a browser (log in with a token to see private repos)")
        if gc_every_s is not None:
            click.echo(f"Reclaiming disk whenever no gc pass ran for {gc_every:.0f} s (--no-gc to turn off)")
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@hub.group()
def user() -> None:
    """Add, remove and list the embedded Hub's users (kept in the data dir, tokens hashed).

    Changes apply at once, also to a server already running on the same data dir.
    """


@user.command(name="add")
@click.argument("name")
@click.option("--org", "orgs", multiple=True, help="An org NAME may also write to (repeatable).")
@click.option("--fullname", default="", help="The full name whoami reports (default: NAME).")
@click.option(
    "--token-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Read the token from this file. Default: $HUBRERANK_TOKEN, else a new token printed once.",
)
@click.option("--data", type=click.Path(path_type=Path), help=_DATA_HELP)
def user_add(
    name: str, orgs: tuple[str, ...], fullname: str, token_file: Path | None, data: Path | None
) -> None:
    """Add user NAME (or replace their token and orgs)."""
    from hubrerank.server.auth import Users, UserSpec, new_token, read_token_file

    if token_file is not None:
        token, generated = read_token_file(token_file, f"user {name}"), False
    elif os.environ.get(TOKEN_ENV):
        token, generated = os.environ[TOKEN_ENV].strip(), False
    else:
        token, generated = new_token(), True
    data_dir = _data_dir(data)
    existed = name in Users(data_dir).orgs()
    _writable(data_dir, lambda: Users(data_dir).merge([UserSpec(name, token, tuple(orgs), fullname)]))
    org_text = f" (orgs: {', '.join(orgs)})" if orgs else ""
    click.echo(f"{'Updated' if existed else 'Added'} user {name}{org_text} in {data_dir}")
    if generated:
        click.echo(f"Token (shown once, store it now): {token}")


@user.command(name="remove")
@click.argument("name")
@click.option("--data", type=click.Path(path_type=Path), help=_DATA_HELP)
def user_remove(name: str, data: Path | None) -> None:
    """Remove user NAME: their token stops working at once, also on a running server, and their
    verification keys are forgotten."""
    from hubrerank.server.auth import Users
    from hubrerank.server.keys import VerifyKeys

    data_dir = _data_dir(data)
    if not _writable(data_dir, lambda: Users(data_dir).remove(name)):
        raise InputError(f"no user {name} in {data_dir}; see: hubrerank hub user list --data {data_dir}")
    _writable(data_dir, lambda: VerifyKeys(data_dir).drop_user(name))
    click.echo(f"Removed user {name} from {data_dir}; their token no longer works")


@user.command(name="list")
@click.option("--data", type=click.Path(path_type=Path), help=_DATA_HELP)
def user_list(data: Path | None) -> None:
    """List the users and their orgs (tokens are never shown: only their hashes are stored)."""
    from hubrerank.server.auth import Users

    data_dir = _data_dir(data)
    users = Users(data_dir).orgs()
    if not users:
        click.echo(f"no users in {data_dir}; add one with: hubrerank hub user add NAME")
    for name, orgs in users.items():
        click.echo(f"{name}\t{','.join(orgs) or '-'}")


@hub.group()
def key() -> None:
    """Register the public keys whose signatures make re-measured results "verified" on this Hub.

    A user registers their own with `hubrerank keys register`; these commands act on the data dir.
    """


@key.command(name="add")
@click.argument("user")
@click.argument("public_key", metavar="PUBLIC_KEY")
@click.option("--data", type=click.Path(path_type=Path), help=_DATA_HELP)
def key_add(user: str, public_key: str, data: Path | None) -> None:
    """Register PUBLIC_KEY (the 'ed25519:...' line of `hubrerank keys create`) to USER."""
    from hubrerank.server.auth import Users
    from hubrerank.server.keys import VerifyKeys
    from hubrerank.server.objects import StoreError

    data_dir = _data_dir(data)
    if user not in Users(data_dir).names():
        raise InputError(f"no user {user} in {data_dir}; add them first: hubrerank hub user add {user}")
    try:
        added = _writable(data_dir, lambda: VerifyKeys(data_dir).add(user, public_key))
    except StoreError as error:
        raise InputError(f"{error}; check the key") from None
    click.echo(f"registered key {added.id} to {user} in {data_dir}")


@key.command(name="list")
@click.argument("user", required=False)
@click.option("--data", type=click.Path(path_type=Path), help=_DATA_HELP)
def key_list(user: str | None, data: Path | None) -> None:
    """List registered keys (of USER, or of every user): id, user, key."""
    from hubrerank.server.auth import Users
    from hubrerank.server.keys import VerifyKeys

    data_dir = _data_dir(data)
    registry = VerifyKeys(data_dir)
    found = [k for name in ([user] if user else Users(data_dir).names()) for k in registry.of_user(name)]
    if not found:
        click.echo(f"no verification keys in {data_dir}; add one with: hubrerank hub key add USER KEY")
    for entry in found:
        click.echo(f"{entry.id}\t{entry.user}\t{entry.key}")


@key.command(name="remove")
@click.argument("user")
@click.argument("key_id", metavar="KEY_ID")
@click.option("--data", type=click.Path(path_type=Path), help=_DATA_HELP)
def key_remove(user: str, key_id: str, data: Path | None) -> None:
    """Remove USER's key KEY_ID: what it signed no longer shows as verified."""
    from hubrerank.server.keys import VerifyKeys
    from hubrerank.server.objects import StoreError

    data_dir = _data_dir(data)
    try:
        _writable(data_dir, lambda: VerifyKeys(data_dir).remove(user, key_id))
    except StoreError as error:
        raise InputError(f"{error}; see: hubrerank hub key list {user} --data {data_dir}") from None
    click.echo(f"removed key {key_id} of {user} from {data_dir}")


def _writable(data_dir: Path, change: Callable[[], T]) -> T:
    """Run ``change`` on the data dir, turning an OS error into a one-line ServerError."""
    try:
        return change()
    except OSError as error:
        raise ServerError(f"cannot write to the data dir {data_dir}: {error.strerror or error}") from None


@hub.command()
@click.option("--data", type=click.Path(path_type=Path), help=_DATA_HELP)
@click.option("--dry-run", is_flag=True, help="Only print what would be removed.")
@click.option("--grace", type=click.FloatRange(min=0), default=3600, show_default=True, help=_GRACE_HELP)
def gc(data: Path | None, dry_run: bool, grace: float) -> None:
    """Reclaim disk: blobs and commits no branch or tag reaches, stale staging, deleted repos' leftovers.

    Safe while servers run on the same data dir: repo writes wait while gc holds its lock, and
    anything younger than --grace is kept.
    """
    from hubrerank.server.gc import collect

    data_dir = _data_dir(data)
    if not (data_dir / "repos").is_dir():
        raise InputError(f"no embedded Hub data in {data_dir}; pass --data")
    removed = collect(data_dir, grace_s=grace, dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for item in removed:
        click.echo(f"{verb} {item.kind} {item.path.relative_to(data_dir)} ({item.size} bytes)")
    total = sum(item.size for item in removed)
    click.echo(f"{verb} {len(removed)} item(s), {total} bytes ({total / 1e6:.1f} MB) from {data_dir}")


@hub.command(name="ls")
@click.argument("namespace", required=False)
@click.option("--data", type=click.Path(path_type=Path), help=_DATA_HELP)
def ls(namespace: str | None, data: Path | None) -> None:
    """List the repos of the embedded Hub (of NAMESPACE if given), read from its data dir.

    One line per repo: type, id, public/private, then sha, date and title of the main branch's head.
    """
    from hubrerank.server.storage import Store

    data_dir = _data_dir(data)
    if not (data_dir / "repos").is_dir():
        raise InputError(f"no embedded Hub data in {data_dir}; pass --data or run: hubrerank hub serve")
    store = Store(data_dir)
    rows = []
    for state in store.list_repos(namespace):
        head = store.resolve(state, "main")
        visibility = "private" if state.private else "public"
        rows.append((state.repo.type, state.repo.id, visibility, head.id, head.date, head.title))
    if not rows:
        click.echo(f"no repos{f' in namespace {namespace}' if namespace else ''} in {data_dir}")
        return
    width = max(len(row[1]) for row in rows)
    for repo_type, repo_id, visibility, sha, date, title in rows:
        click.echo(f"{repo_type:<7} {repo_id:<{width}} {visibility:<7} {sha} {date} {title}")
