"""The pages' plumbing: who the visitor is, rendering, errors, login and logout, listings.

Every page goes through :meth:`Pages.page`: the visitor is the account of the session cookie (or of an
``Authorization`` header, as for the API), repos are looked up through the API's own ``readable``
(so a private repo is "not found" to everyone else, here as there), a POST body is read up to
``FORM_LIMIT``, and every answer carries ``PAGE_HEADERS``: a Content-Security-Policy without any
script source (no script runs, inline or not), no framing, no sniffing, no caching. Errors are pages
with the API's status and one-line message; a private or missing repo is a 404 for everyone (the
API's 401 asks a client to send a token, a page offers the login form instead).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, RedirectResponse, Response

from hubrerank.server.auth import Account, Sessions
from hubrerank.server.call import Body, Call, Failure
from hubrerank.server.eval_files import EVAL_YAML
from hubrerank.server.objects import Invalid, Repo, RepoNotFound, RepoState, StoreError, validate_name

if TYPE_CHECKING:
    from hubrerank.server.app import HubApp

FORM_LIMIT = 4096  # the login form: a token and where to go next
PAGE_SIZE = 30  # repos per page of a listing
MAX_SEARCH = 200  # characters of a search
SESSION_COOKIE = "hubrerank_session"
STATIC = Path(__file__).parent / "static"
STATIC_FILES = {"style.css": "text/css", "favicon.svg": "image/svg+xml"}
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
Handler = Callable[..., Response]


@dataclass(frozen=True)
class RepoItem:
    """A repo as listings show it."""

    state: RepoState
    last_modified: str
    benchmark: bool

    @property
    def kind(self) -> str:
        """``model``, ``dataset``, or ``benchmark`` (a dataset with ``eval.yaml``)."""
        return "benchmark" if self.benchmark else self.state.repo.type


def _date(text: str) -> str:
    """An ISO timestamp as ``2026-12-07 14:20`` (UTC); other text as is."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M")
    except (ValueError, AttributeError):
        return str(text)


def _size(size: int) -> str:
    """A size in bytes as people read it: ``2.5 kB``."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def page_number(text: str | None) -> int:
    """``?p=`` as a page number from 1 (anything else: 1)."""
    return int(text) if text and text.isdigit() and 0 < int(text) < 10**9 else 1


def safe_next(target: str | None) -> str:
    """A local path to go to after logging in or out ("/" for anything that could leave the site)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")) or "\\" in target:
        return "/"
    return target


class Pages:
    """The pages of one HubApp."""

    def __init__(self, hub: HubApp) -> None:
        self.hub, self.store = hub, hub.store
        self.sessions = Sessions(hub.store.root, hub.users)
        self.templates = Environment(
            loader=PackageLoader("hubrerank.server.pages", "templates"),
            autoescape=select_autoescape(default=True),
            undefined=StrictUndefined,
        )
        self.templates.filters.update(
            date=_date, size=_size, rev=lambda text: quote(str(text), safe=""), path=quote
        )

    # ---- plumbing
    def visitor(self, request: Request) -> Account | None:
        """The account of the request's Authorization header, else of its session cookie."""
        if "authorization" in request.headers:
            return self.hub.authenticate(request)
        cookie = request.cookies.get(SESSION_COOKIE)
        return self.sessions.account(cookie) if cookie else None

    def page(self, handler: Handler, repo_type: str | None = None, *, form: bool = False) -> Callable:
        """An endpoint running ``handler(call[, repo_type])`` in a thread, errors as pages."""

        async def run(request: Request) -> Response:
            user = None
            stream = Body(request)
            try:
                body = await stream.read(FORM_LIMIT, f"{request.method} {request.url.path}") if form else b""
                user = self.visitor(request)
                origin = request.headers.get("origin")
                if form and origin is not None and origin != str(request.base_url).rstrip("/"):
                    raise Failure(403, "this form may only be sent from this Hub's own pages")
                params = {k: unquote(v) for k, v in request.path_params.items()}
                call = Call(request, params, body, user, stream)
                args = (call,) if repo_type is None else (call, repo_type)
                response = await run_in_threadpool(handler, *args)
            except ClientDisconnect:
                return Response(status_code=400)
            except Failure as failure:
                if 300 <= failure.status < 400 and "Location" in failure.headers:
                    response = RedirectResponse(failure.headers["Location"], failure.status)
                else:
                    response = self.error(request, user, failure.status, failure.message)
            except RepoNotFound:
                response = self.error(request, user, 404, "Repository not found")
            except Invalid as error:
                response = self.error(request, user, 404, str(error))
            except StoreError as error:
                response = self.error(request, user, error.status, str(error))
            if not stream.done:  # a body this page did not read (too large, or sent with a GET)
                response.headers["Connection"] = "close"
            return response

        return run

    def render(self, call: Call, template: str, *, http_status: int = 200, **context: Any) -> Response:
        """``template`` rendered for the call's visitor, with the pages' headers."""
        return self._render(call.request, call.user, template, http_status, **context)

    def _render(
        self, request: Request, user: Account | None, template: str, http_status: int, **context: Any
    ) -> Response:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        text = self.templates.get_template(template).render(visitor=user, here=path, **context)
        return Response(text, http_status, headers=PAGE_HEADERS, media_type="text/html")

    def error(self, request: Request, user: Account | None, status: int, message: str) -> Response:
        """An error page: the status and its one-line message."""
        return self._render(request, user, "error.html", status, code=status, message=message)

    def may_read(self, call: Call, state: RepoState) -> bool:
        """The API's rule: public, or the visitor's namespace or org."""
        return self.hub.may_read(call, state)

    def repo_link(self, call: Call, repo_type: str, repo_id: str) -> str | None:
        """The page of repo ``repo_id`` if it exists and the visitor may read it (else no link)."""
        ns, _, name = repo_id.partition("/")
        try:
            state = self.store.state(Repo.parse(repo_type, ns, name))
        except StoreError:
            return None
        return f"/{state.repo.url_path}" if self.may_read(call, state) else None

    # ---- session
    def login_form(self, call: Call) -> Response:
        """``GET /login``: the form posting a token."""
        target = safe_next(call.request.query_params.get("next"))
        return self.render(call, "login.html", next=target, failed=False)

    def login(self, call: Call) -> Response:
        """``POST /login``: a valid token opens a session (the cookie) and goes on to ``next``."""
        form = parse_qs(call.body.decode("utf-8", errors="replace"))
        token, target = (form.get("token") or [""])[-1].strip(), safe_next((form.get("next") or ["/"])[-1])
        opened = self.sessions.open(token)
        if opened is None:
            return self.render(call, "login.html", http_status=401, next=target, failed=True)
        response = RedirectResponse(target, 303, headers=PAGE_HEADERS)
        response.set_cookie(
            SESSION_COOKIE, opened[1], max_age=self.sessions.lifetime_s, httponly=True, samesite="strict"
        )
        return response

    def logout(self, call: Call) -> Response:
        """``POST /logout``: the session cookie cleared."""
        response = RedirectResponse("/", 303, headers=PAGE_HEADERS)
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict")
        return response

    async def static(self, request: Request) -> Response:
        """``/front/style.css`` and ``/front/favicon.svg``, the pages' only files."""
        name = request.path_params["name"]
        if name not in STATIC_FILES:
            return self.error(request, None, 404, f"no file {name[:100]!r} here")
        response = FileResponse(STATIC / name, media_type=STATIC_FILES[name])
        response.headers.update({"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"})
        return response

    # ---- listings
    def listed(self, call: Call, namespace: str | None = None) -> list[RepoItem]:
        """The repos the visitor may read (of ``namespace`` if given), newest first."""
        items = []
        for state in self.store.list_repos(namespace):
            if not self.may_read(call, state):
                continue
            try:
                head = self.store.resolve(state, "main")
            except StoreError:
                continue
            benchmark = state.repo.type == "dataset" and EVAL_YAML in head.tree
            items.append(RepoItem(state, head.date, benchmark))
        return sorted(items, key=lambda item: item.last_modified, reverse=True)

    def _listing(self, call: Call, items: list[RepoItem], template: str, **context: Any) -> Response:
        """``items`` filtered by ``?search=`` and ``?type=``, counted per type, one page of them shown."""
        query = call.request.query_params
        search = query.get("search", "")[:MAX_SEARCH]
        kind = query.get("type", "all")
        found = [i for i in items if search.lower() in i.state.repo.id.lower()]
        counts = {k: sum(i.kind == k for i in found) for k in ("model", "dataset", "benchmark")}
        counts["dataset"] += counts["benchmark"]  # a benchmark is a dataset
        chosen = [i for i in found if kind == "all" or i.kind == kind or (kind == "dataset" and i.benchmark)]
        pages = max(1, -(-len(chosen) // PAGE_SIZE))
        number = min(page_number(query.get("p")), pages)

        def link(**change: Any) -> str:
            """This listing's URL with ``change`` applied to its query."""
            params = {"search": search, "type": kind, "p": number, **change}
            kept = {k: v for k, v in params.items() if v not in ("", "all", 1)}
            return call.request.url.path + (f"?{urlencode(kept)}" if kept else "")

        shown = chosen[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
        return self.render(
            call,
            template,
            items=shown,
            total=len(chosen),
            counts=counts,
            search=search,
            kind=kind,
            number=number,
            pages=pages,
            link=link,
            **context,
        )

    def index(self, call: Call) -> Response:
        """``/``: every repo the visitor may read, newest first; ``?search=``, ``?type=``, ``?p=``."""
        return self._listing(call, self.listed(call), "index.html")

    def namespace(self, call: Call) -> Response:
        """``/NS``: a user's or organisation's repos (404 for a namespace nobody has and nothing readable)."""
        ns = call.params["ns"]
        validate_name(ns, "user or organisation name")
        items = self.listed(call, ns)
        users = self.hub.users.orgs()
        is_user = ns in users
        is_org = any(ns in orgs for orgs in users.values())
        if not (items or is_user or is_org):
            raise Failure(404, f"no user or organisation {ns!r} on this Hub")
        fullname = self.hub.users.fullnames().get(ns, "") if is_user else ""
        members = sorted(name for name, orgs in users.items() if ns in orgs)
        is_org = is_org and not is_user
        return self._listing(
            call, items, "namespace.html", ns=ns, fullname=fullname, is_org=is_org, members=members
        )

    def bind(self, handler: Callable[..., Response]) -> Handler:
        """A page module's ``handler(pages, call, repo_type)`` as ``handler(call, repo_type)``."""
        return functools.partial(handler, self)
