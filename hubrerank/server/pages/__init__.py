"""The embedded Hub's pages: what a person sees at huggingface.co's URLs, rendered on the server.

Jinja2 templates (``templates/``) and one stylesheet (``static/style.css``), no script, no build step.
``routes`` holds the plumbing every page shares (visitor, errors, headers, login); one module per kind
of page: ``repo`` (a model's or dataset's card, results and reports), ``files`` (tree, blob, commits,
commit), ``community`` (discussions and pull requests), ``viewer`` (a dataset's parquet rows) and
``leaderboard`` (a benchmark's). ``render`` turns Markdown into sanitised HTML, ``card`` reads a card.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.responses import Response
from starlette.routing import Route

from hubrerank.server.pages import community, files, leaderboard, repo, viewer
from hubrerank.server.pages.routes import Pages

if TYPE_CHECKING:
    from hubrerank.server.app import HubApp


def page_routes(hub: HubApp) -> list[Route]:
    """The page routes; they go after the API's (which they never shadow) and before the catch-all."""
    pages = Pages(hub)
    routes = [
        Route("/", pages.page(pages.index), methods=["GET"]),
        Route("/front/{name}", pages.static, methods=["GET"]),
        Route("/login", pages.page(pages.login_form), methods=["GET"]),
        Route("/login", pages.page(pages.login, form=True), methods=["POST"]),
        Route("/logout", pages.page(pages.logout, form=True), methods=["POST"]),
    ]
    for repo_type in ("dataset", "model"):  # datasets first: "/datasets/ns/name" is never a model
        web = "/{ns}/{name}" if repo_type == "model" else "/datasets/{ns}/{name}"
        table: list[tuple[str, Callable[..., Response]]] = [
            (web, repo.repo_page),
            (f"{web}/tree/{{rev}}", files.tree),
            (f"{web}/tree/{{rev}}/{{path:path}}", files.tree),
            (f"{web}/blob/{{rev}}/{{path:path}}", files.blob),
            (f"{web}/commits/{{rev}}", files.commits),
            (f"{web}/commit/{{sha}}", files.commit),
            (f"{web}/discussions", community.discussions),
            (f"{web}/discussions/{{num}}", community.discussion),
        ]
        if repo_type == "dataset":
            table += [(f"{web}/viewer", viewer.viewer), (f"{web}/leaderboard", leaderboard.leaderboard)]
        routes += [Route(path, pages.page(pages.bind(fn), repo_type), methods=["GET"]) for path, fn in table]
    routes.append(Route("/{ns}", pages.page(pages.namespace), methods=["GET"]))
    return routes
