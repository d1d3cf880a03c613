"""Discussion and pull request routes, as huggingface_hub's ``get_repo_discussions``,
``get_discussion_details``, ``create_discussion`` / ``create_pull_request``, ``comment_discussion``,
``edit_discussion_comment``, ``hide_discussion_comment``, ``rename_discussion``,
``change_discussion_status`` and ``merge_pull_request`` call them, under ``/api/{type}s/{id}/discussions``.

Who may do what, as on huggingface.co: whoever may read the repo lists and reads its discussions
(a private repo's are 404 to others, 401 to anonymous callers); any signed-in reader opens one and
comments; a comment's author edits it; the repo's writers hide comments and merge pull requests; a
discussion's author or the repo's writers rename it and close or reopen it.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response

from hubrerank.server.admin import Forbidden
from hubrerank.server.discussions import STATUSES, Discussion, Discussions, Event, apply_operations
from hubrerank.server.objects import PR_REF_RE, Commit, Invalid, Operation, RepoState
from hubrerank.server.pulls import diff, files_with_conflicts, merge
from hubrerank.server.storage import Store

if TYPE_CHECKING:
    from hubrerank.server.auth import Account, Users
    from hubrerank.server.call import Call, JsonObject

PAGE_SIZE = 50  # discussions per page of a listing (``?p=``), as the Hub pages them
MIN_TITLE, MAX_TITLE = 3, 200  # characters, after stripping (huggingface_hub's documented bounds)
MAX_COMMENT = 65536  # characters of a comment or description
HIDDEN_TEXT = "This comment has been hidden"
_STATUS_FILTERS = {
    "all": set(STATUSES),
    "open": {"open", "draft"},
    "closed": {"closed", "merged"},
    "merged": {"merged"},
    "draft": {"draft"},
}
_TYPE_FILTERS = {"all": (True, False), "discussion": (False,), "pull_request": (True,)}


def _title(body: JsonObject, key: str) -> str:
    title = body.get(key, str, required=True).strip()
    if not MIN_TITLE <= len(title) <= MAX_TITLE:
        raise Invalid(f"'{key}' must be {MIN_TITLE} to {MAX_TITLE} characters long, not {len(title)}")
    return title


def _text(body: JsonObject, key: str, *, required: bool) -> str:
    text = body.get(key, str, required=required) or ""
    if required and not text.strip():
        raise Invalid(f"'{key}' must not be empty")
    if len(text) > MAX_COMMENT:
        raise Invalid(f"'{key}' is {len(text)} characters long; the limit is {MAX_COMMENT}")
    return text


class DiscussionRoutes:
    """The handlers, and who may commit where (mixed into HubApp, which provides ``store``, ``users``,
    ``readable`` and ``writable``)."""

    store: Store
    users: Users

    # ---- rendering
    def _user(self, name: str) -> dict[str, Any]:
        fullname = self.users.fullnames().get(name) or name
        return {"name": name, "fullname": fullname, "avatarUrl": "", "type": "user", "isPro": False}

    def _event(self, event: Event) -> dict[str, Any]:
        data: dict[str, Any]
        if event.type == "comment":
            versions = [
                {"raw": v.raw, "html": html.escape(v.raw), "updatedAt": v.at, "author": self._user(v.author)}
                for v in event.versions
            ]
            data = {
                "edited": len(versions) > 1,
                "hidden": event.hidden,
                "latest": versions[-1],
                "numEdits": len(versions) - 1,
                "editors": sorted({v.author for v in event.versions[1:]}),  # who edited it
                "editReactions": [],
                "reactions": [],
                "isReport": False,
                "history": versions[-2::-1],  # the earlier texts, newest first
            }
        elif event.type == "status-change":
            data = {"status": event.text}
        else:
            data = {"from": event.previous, "to": event.text}
        return {
            "id": event.id,
            "type": event.type,
            "createdAt": event.created_at,
            "author": self._user(event.author),
            "data": data,
        }

    def _summary(self, state: RepoState, discussion: Discussion) -> dict[str, Any]:
        return {
            "num": discussion.num,
            "title": discussion.title,
            "status": discussion.status,
            "author": self._user(discussion.author),
            "createdAt": discussion.created_at,
            "isPullRequest": discussion.is_pull_request,
            "numComments": sum(e.type == "comment" for e in discussion.events),
            "pinned": False,
            "repo": {"name": state.repo.id, "type": state.repo.type},
            "topReactions": [],
        }

    def _details(self, state: RepoState, discussion: Discussion, with_diff: bool) -> dict[str, Any]:
        events = [(e.created_at, self._event(e)) for e in discussion.events]
        details = self._summary(state, discussion)
        if discussion.is_pull_request:
            for commit in Discussions(self.store).pull_commits(state, discussion):
                event = {
                    "id": commit.id[:24],
                    "type": "commit",
                    "createdAt": commit.date,
                    "author": self._user(commit.author),
                    "data": {"subject": commit.title, "oid": commit.id},
                }
                events.append((commit.date, event))
            changes: dict[str, Any] = {"base": f"refs/heads/{discussion.target}"}
            if discussion.merge_commit:
                changes["mergeCommitId"] = discussion.merge_commit
            details["changes"] = changes
            details["filesWithConflicts"] = files_with_conflicts(self.store, state, discussion)
            if with_diff:
                details["diff"] = diff(self.store, state, discussion)
        details["events"] = [event for _, event in sorted(events, key=lambda pair: pair[0])]
        return details

    # ---- reading
    def _num(self, call: Call) -> int:
        text = call.params["num"]
        if not text.isdigit() or not 0 < int(text) < 10**9:
            raise Invalid(f"discussion number {text!r} must be a positive integer")
        return int(text)

    def list_discussions(self, call: Call, repo_type: str) -> Response:
        """``GET .../discussions?p=&type=&status=&author=``: newest first, ``PAGE_SIZE`` a page."""
        state = self.readable(call, repo_type)
        query = call.request.query_params
        page_text = query.get("p", "0")
        if not page_text.isdigit():
            raise Invalid(f"'p' must be a page number (0, 1, ...), not {page_text!r}")
        kind, status = query.get("type", "all"), query.get("status", "all")
        if kind not in _TYPE_FILTERS:
            raise Invalid(f"'type' must be one of {', '.join(_TYPE_FILTERS)}, not {kind!r}")
        if status not in _STATUS_FILTERS:
            raise Invalid(f"'status' must be one of {', '.join(_STATUS_FILTERS)}, not {status!r}")
        author = query.get("author")
        store = Discussions(self.store)
        nums = [
            summary.num
            for summary in store.summaries(state)
            if summary.is_pull_request in _TYPE_FILTERS[kind]
            and summary.status in _STATUS_FILTERS[status]
            and (author is None or summary.author == author)
        ]
        start = int(page_text) * PAGE_SIZE
        page = [store.get(state, num) for num in nums[start : start + PAGE_SIZE]]
        total = len(nums)
        return JSONResponse(
            {
                "discussions": [self._summary(state, d) for d in page],
                "count": total,
                "start": start,
            }
        )

    def discussion_details(self, call: Call, repo_type: str) -> Response:
        state = self.readable(call, repo_type)
        discussion = Discussions(self.store).get(state, self._num(call))
        return JSONResponse(self._details(state, discussion, with_diff=call.flag("diff")))

    # ---- writing
    def committable(self, call: Call, repo_type: str, ref: str) -> RepoState:
        """The repo named by the URL if the caller may commit to ``ref``: a writer, or for
        ``refs/pr/N`` also the pull request's author. ``?create_pr=1``: any signed-in reader."""
        user = call.require_user()
        if call.flag("create_pr"):
            return self.readable(call, repo_type)
        if PR_REF_RE.match(ref):
            state = self.readable(call, repo_type)
            Discussions(self.store).check_committer(state, ref, user.name, self._may_write(user, state))
            return state
        return self.writable(call, repo_type)

    def open_with_commit(
        self,
        call: Call,
        state: RepoState,
        target: str,
        operations: list[Operation],
        title: str,
        message: str,
        start: str | None,
    ) -> tuple[Commit, str]:
        """A commit's ``?create_pr=1``: a pull request against branch ``target`` (from ``start`` if
        given) holding the commit of ``operations``, both or neither; returns the commit and its URL."""
        user = call.require_user()
        write = apply_operations(self.store, operations, title=title, message=message, author=user.name)
        discussion, commit = Discussions(self.store).create(
            state.repo,
            user.name,
            title,
            message,
            pull_request=True,
            status="open",
            target=target,
            commit=write,
            start=start,
        )
        assert commit is not None
        return commit, f"{call.base_url}/{state.repo.url_path}/discussions/{discussion.num}"

    def create_discussion(self, call: Call, repo_type: str) -> Response:
        user = call.require_user()
        state = self.readable(call, repo_type)
        body = call.json()
        title = _title(body, "title")
        description = _text(body, "description", required=False)
        pull_request = bool(body.get("pullRequest", bool))
        discussion, _ = Discussions(self.store).create(
            state.repo,
            user.name,
            title,
            description,
            pull_request=pull_request,
            status="draft" if pull_request else "open",
            target="main" if pull_request else None,
        )
        url = f"{call.base_url}/{state.repo.url_path}/discussions/{discussion.num}"
        return JSONResponse({"num": discussion.num, "url": url, "pullRequest": pull_request})

    def _may_write(self, user: Account, state: RepoState) -> bool:
        return user.owns(state.repo.ns)

    def discussion_comment(self, call: Call, repo_type: str) -> Response:
        user = call.require_user()
        state = self.readable(call, repo_type)
        text = _text(call.json(), "comment", required=True)

        def add(_: RepoState, discussion: Discussion) -> Event:
            event = Event.new("comment", user.name, text)
            discussion.events.append(event)
            return event

        event = Discussions(self.store).update(state.repo, self._num(call), add)
        return JSONResponse({"newMessage": self._event(event)})

    def discussion_title(self, call: Call, repo_type: str) -> Response:
        user = call.require_user()
        state = self.readable(call, repo_type)
        title = _title(call.json(), "title")

        def rename(_: RepoState, discussion: Discussion) -> Event:
            self._check_author_or_writer(user, state, discussion, "rename")
            event = Event.new("title-change", user.name, title, previous=discussion.title)
            discussion.title = title
            discussion.events.append(event)
            return event

        event = Discussions(self.store).update(state.repo, self._num(call), rename)
        return JSONResponse({"newTitle": self._event(event)})

    def discussion_status(self, call: Call, repo_type: str) -> Response:
        user = call.require_user()
        state = self.readable(call, repo_type)
        body = call.json()
        status = body.get("status", str, required=True)
        if status not in ("open", "closed"):
            raise Invalid(f"'status' must be 'open' or 'closed', not {status!r}")
        comment = _text(body, "comment", required=False).strip()

        def change(_: RepoState, discussion: Discussion) -> Event:
            self._check_author_or_writer(user, state, discussion, "close or reopen")
            if discussion.status == "merged":
                raise Invalid(f"#{discussion.num} is merged: its status cannot change")
            if comment:
                discussion.events.append(Event.new("comment", user.name, comment))
            event = Event.new("status-change", user.name, status)
            discussion.status = status
            discussion.events.append(event)
            return event

        event = Discussions(self.store).update(state.repo, self._num(call), change)
        return JSONResponse({"newStatus": self._event(event)})

    def discussion_merge(self, call: Call, repo_type: str) -> Response:
        user = call.require_user()
        state = self.readable(call, repo_type)
        if not self._may_write(user, state):
            raise Forbidden(f"only writers of {state.repo.id} may merge its pull requests")
        comment = _text(call.json(), "comment", required=False).strip()

        def do_merge(current: RepoState, discussion: Discussion) -> None:
            merge(self.store, current, discussion, user.name, comment)

        Discussions(self.store).update(state.repo, self._num(call), do_merge)
        return JSONResponse({})

    def comment_edit(self, call: Call, repo_type: str) -> Response:
        user = call.require_user()
        state = self.readable(call, repo_type)
        text = _text(call.json(), "content", required=True)

        def edit(_: RepoState, discussion: Discussion) -> Event:
            event = discussion.comment(call.params["comment"])
            if event.author != user.name:
                raise Forbidden("only a comment's author may edit it")
            if event.hidden:
                raise Invalid("a hidden comment cannot be edited")
            event.rewrite(text, user.name)
            return event

        event = Discussions(self.store).update(state.repo, self._num(call), edit)
        return JSONResponse({"updatedComment": self._event(event)})

    def comment_hide(self, call: Call, repo_type: str) -> Response:
        user = call.require_user()
        state = self.readable(call, repo_type)
        if not self._may_write(user, state):
            raise Forbidden(f"only writers of {state.repo.id} may hide comments")

        def hide(_: RepoState, discussion: Discussion) -> Event:
            event = discussion.comment(call.params["comment"])
            event.hidden, event.versions = True, []  # the texts are gone for good, as on the Hub
            event.rewrite(HIDDEN_TEXT, user.name)
            return event

        event = Discussions(self.store).update(state.repo, self._num(call), hide)
        return JSONResponse({"updatedComment": self._event(event)})

    def _check_author_or_writer(
        self, user: Account, state: RepoState, discussion: Discussion, what: str
    ) -> None:
        if discussion.author != user.name and not self._may_write(user, state):
            raise Forbidden(
                f"only the author of #{discussion.num} or writers of {state.repo.id} may {what} it"
            )

    def discussion_table(self, api: str) -> list[tuple[str, Any, list[str], dict[str, Any]]]:
        """The routes under ``api`` (``/api/{type}s/{ns}/{name}``), as HubApp.routes lists them."""
        write = {"needs_user": True, "writes": True}
        base = f"{api}/discussions"
        return [
            (base, self.list_discussions, ["GET"], {}),
            (base, self.create_discussion, ["POST"], write),
            (f"{base}/{{num}}", self.discussion_details, ["GET"], {}),
            (f"{base}/{{num}}/comment", self.discussion_comment, ["POST"], write),
            (f"{base}/{{num}}/title", self.discussion_title, ["POST"], write),
            (f"{base}/{{num}}/status", self.discussion_status, ["POST"], write),
            (f"{base}/{{num}}/merge", self.discussion_merge, ["POST"], write),
            (f"{base}/{{num}}/comment/{{comment}}/edit", self.comment_edit, ["POST"], write),
            (f"{base}/{{num}}/comment/{{comment}}/hide", self.comment_hide, ["POST"], write),
        ]

    if TYPE_CHECKING:

        def readable(self, call: Call, repo_type: str) -> RepoState: ...

        def writable(self, call: Call, repo_type: str) -> RepoState: ...
