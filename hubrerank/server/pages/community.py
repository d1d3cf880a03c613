"""The community tab: a repo's discussions and pull requests, and one of them with its events.

``/discussions?status=open|closed|all&p=N`` lists them newest first, ``PAGE_SIZE`` a page, filtered on
the summaries the API's listing caches. ``/discussions/N`` shows the timeline (comments rendered and
sanitised like cards, hidden ones as such, status and title changes, and for a pull request its
commits), then for a pull request its conflicts and its diff against the merge base, as
``get_discussion_details`` computes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.responses import Response

from hubrerank.server.call import Failure
from hubrerank.server.discussion_routes import HIDDEN_TEXT, PAGE_SIZE
from hubrerank.server.discussions import Discussions
from hubrerank.server.pages.files import diff_lines
from hubrerank.server.pages.render import Where, render_markdown
from hubrerank.server.pages.repo import header
from hubrerank.server.pages.routes import page_number
from hubrerank.server.pulls import diff, files_with_conflicts

if TYPE_CHECKING:
    from hubrerank.server.call import Call
    from hubrerank.server.pages.routes import Pages

STATUS_FILTERS = {
    "open": ("open", "draft"),
    "closed": ("closed", "merged"),
    "all": ("open", "draft", "closed", "merged"),
}


@dataclass(frozen=True)
class TimelineItem:
    """One event of a discussion: a comment (``html``), a status or title change, or a commit."""

    kind: str
    author: str
    at: str
    html: str = ""
    text: str = ""
    previous: str = ""
    commit: str = ""


def discussions(pages: Pages, call: Call, repo_type: str) -> Response:
    """The community tab: discussions and pull requests of one status, newest first."""
    state = pages.hub.readable(call, repo_type)
    status = call.request.query_params.get("status", "open")
    status = status if status in STATUS_FILTERS else "open"
    store = Discussions(pages.store)
    chosen = [s for s in store.summaries(state) if s.status in STATUS_FILTERS[status]]
    number = page_number(call.request.query_params.get("p"))
    shown = [store.get(state, s.num) for s in chosen[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]]
    commit = pages.store.resolve(state, "main")
    return pages.render(
        call,
        "discussions.html",
        top=header(pages, state, "main", commit, "community"),
        discussions=shown,
        status=status,
        total=len(chosen),
        number=number,
        more=len(chosen) > number * PAGE_SIZE,
    )


def discussion(pages: Pages, call: Call, repo_type: str) -> Response:
    """One discussion or pull request: its timeline, and a pull request's conflicts and diff."""
    state = pages.hub.readable(call, repo_type)
    text = call.params["num"]
    if not text.isdigit() or len(text) > 9:
        raise Failure(404, f"no discussion #{text[:20]} in {state.repo.id}")
    store = Discussions(pages.store)
    shown = store.get(state, int(text))
    where = Where(state.repo.url_path, shown.target or "main")
    timeline = []
    for event in shown.events:
        if event.type == "comment":
            if event.hidden:
                timeline.append(TimelineItem("comment", event.author, event.created_at, text=HIDDEN_TEXT))
            else:
                html = render_markdown(event.text, where).html
                timeline.append(TimelineItem("comment", event.author, event.created_at, html))
        else:
            kind = "status" if event.type == "status-change" else "title"
            item = TimelineItem(
                kind, event.author, event.created_at, text=event.text, previous=event.previous
            )
            timeline.append(item)
    lines, cut, conflicts = [], False, []
    if shown.is_pull_request:
        commits = store.pull_commits(state, shown)
        timeline += [TimelineItem("commit", c.author, c.date, text=c.title, commit=c.id) for c in commits]
        timeline.sort(key=lambda item: item.at)
        lines, cut = diff_lines(diff(pages.store, state, shown))
        conflicts = files_with_conflicts(pages.store, state, shown)
    commit = pages.store.resolve(state, "main")
    changed = [line.text.split(" b/", 1)[-1] for line in lines if line.text.startswith("diff --git ")]
    return pages.render(
        call,
        "discussion.html",
        top=header(pages, state, "main", commit, "community"),
        discussion=shown,
        timeline=timeline,
        lines=lines,
        cut=cut,
        conflicts=conflicts,
        changed=changed,
        head=state.pulls.get(str(shown.num)),
    )
