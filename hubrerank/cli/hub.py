"""``hubrerank hub``: run the embedded Hub and list what it holds."""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import click

from hubrerank.endpoint import hubrerank_home
from hubrerank.errors import InputError

_DATA_HELP = "The embedded Hub's data dir. Default: $HUBRERANK_HOME/hub (~/.cache/hubrerank/hub)."


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
    metavar="NAME:TOKEN[:ORG,ORG...]",
    help="A user who may write to NAME and its ORGs with TOKEN (repeatable). The local user is always added.",
)
def serve(data: Path | None, host: str, port: int, port_file: Path | None, users: tuple[str, ...]) -> None:
    """Serve the embedded Hub in the foreground until Ctrl-C.

    Point clients at it with HF_ENDPOINT=<url> HF_HUB_DISABLE_XET=1 and a user's token in HF_TOKEN.
    """
    from hubrerank.server import HubServer, ensure_local_user, parse_user
    from hubrerank.server.storage import write_atomic

    specs = [parse_user(text) for text in users]
    data_dir = _data_dir(data)
    local = ensure_local_user(data_dir)
    if local.name not in {spec.name for spec in specs}:
        specs.append(local)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("hubrerank.server.access").setLevel(logging.INFO)
    server = HubServer(data_dir, host=host, port=port, users=specs).start()
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"Warning: listening on {host}, beyond this machine; tokens travel unencrypted", err=True)
    if port_file is not None:
        write_atomic(port_file, f"{server.port}\n".encode())
    click.echo(f"Embedded Hub serving {data_dir} at {server.url}")
    names = ", ".join(spec.name for spec in specs)
    click.echo(f"Users: {names} (the local user {local.name}'s token is in {data_dir / 'local-user.json'})")
    click.echo(f"Use it with: export HF_ENDPOINT={server.url} HF_HUB_DISABLE_XET=1 HF_TOKEN=<token>")

    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


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
