"""The pages in a real browser: headless Chromium (Debian's) driven by Playwright.

One browser for the module. Without /usr/bin/chromium the tests skip with the reason, unless $CI is
set (CI installs it: .ci/run): then they fail. Every page of a small Hub is opened and must load
with no console error, no failed request and only links that resolve; the login form, the session
and logout; a private repo; and cards that try to run script, which must never run (the tests
listen for dialogs and console output).
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from huggingface_hub import CommitOperationAdd, EvalResultEntry, eval_result_entries_to_yaml
from pages_helpers import Web

CHROMIUM = "/usr/bin/chromium"
EVAL_YAML = b"""name: Browser bench
evaluation_framework: hubrerank
tasks:
  - {id: default/test/ndcg@10, config: default, split: test, metric: ndcg@10,
     metric_definition: all-positives}
"""
ATTACKS = """---
license: mit
tags: ["<script>alert('tag')</script>"]
---
# Attacks

<script>alert('script')</script>
<img src="x" onerror="alert('onerror')">
[link](javascript:alert('link')) <a href="javascript:alert('a')">a</a>
<a href="data:text/html,<script>alert(1)</script>">d</a>
<svg onload="alert('svg')"><script>alert('svg script')</script></svg>
<iframe srcdoc="<script>alert('iframe')</script>"></iframe>
<object data="evil.html"></object> <embed src="evil.svg">
<style>body { display: none }</style>
<form action="/logout" method="post"><button id="forged">forged</button></form>
<a id="evil-html" href="evil.html">evil.html</a> <a id="evil-svg" href="evil.svg">evil.svg</a>
![svg](evil.svg)
"""
EVIL_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
    b'<script>alert("svg file script")</script></svg>'
)
EVIL_HTML = (
    b"<html><body><script>alert('html file')</script><img src=x onerror=alert('html img')></body></html>"
)


def _launch() -> object:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing on CI: .ci/run installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium to run the browser tests")
    from playwright.sync_api import sync_playwright

    return sync_playwright()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    manager = _launch()
    with manager as playwright:  # type: ignore[attr-defined]
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield instance
        instance.close()


class Watched:
    """A browser page whose console errors, page errors, failed requests and dialogs are recorded."""

    def __init__(self, browser: object, base: str) -> None:
        self.base = base
        self.context = browser.new_context(base_url=base)  # type: ignore[attr-defined]
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        self.console: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("requestfailed", self._failed)
        self.page.on("response", self._response)
        self.page.on("dialog", self._dialog)

    def _console(self, message: object) -> None:
        self.console.append(message.text)  # type: ignore[attr-defined]
        if message.type == "error":  # type: ignore[attr-defined]
            self.problems.append(f"console: {message.text}")  # type: ignore[attr-defined]

    def _failed(self, request: object) -> None:
        reason = request.failure or ""  # type: ignore[attr-defined]
        if "ERR_ABORTED" not in reason:  # aborted: the next navigation started before it finished
            self.problems.append(f"failed: {request.url} {reason}")  # type: ignore[attr-defined]

    def _response(self, response: object) -> None:
        if response.status >= 400 and response.request.resource_type != "document":  # type: ignore[attr-defined]
            self.problems.append(f"{response.status}: {response.url}")  # type: ignore[attr-defined]

    def _dialog(self, dialog: object) -> None:
        self.dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()  # type: ignore[attr-defined]

    def open(self, path: str) -> int:
        response = self.page.goto(urljoin(self.base, path), wait_until="load")
        return response.status if response else 0

    def links(self) -> list[str]:
        hrefs = self.page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
        return [h for h in hrefs if h and h.startswith("/") and not h.startswith("//")]


def _results(dataset: str, value: float) -> bytes:
    entry = EvalResultEntry(dataset_id=dataset, task_id="default/test/ndcg@10", value=value)
    return yaml.safe_dump(eval_result_entries_to_yaml([entry])).encode()


@pytest.fixture(scope="module")
def site(hub) -> dict[str, str]:
    """A small Hub: a benchmark dataset with parquet, a model with card, results and report, a PR."""
    from huggingface_hub import HfApi

    api = HfApi(endpoint=hub.url, token=hub.alice_token)
    bob = HfApi(endpoint=hub.url, token=hub.bob_token)
    ids = {
        "dataset": "alice/browser-bench",
        "model": "alice/browser-model",
        "private": "alice/browser-secret",
    }
    api.create_repo(ids["dataset"], repo_type="dataset")
    sink = io.BytesIO()
    pq.write_table(pa.table({"query": ["q1", "q2"], "label": [1, 0]}), sink)
    for path, data in {"eval.yaml": EVAL_YAML, "data/test-00000-of-00001.parquet": sink.getvalue()}.items():
        api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id=ids["dataset"], repo_type="dataset")
    api.create_repo(ids["model"])
    card = (
        f"---\nlicense: apache-2.0\ndatasets: [{ids['dataset']}]\n---\n# Browser model\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n![plot](plot.svg)\n"
    )
    report = {"kind": "verify", "verdict": "PASS", "timestamp": "2026-12-07T10:00:00Z", "rows": []}
    plot = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'
    )
    files = {
        "README.md": card.encode(),
        ".eval_results/r.yaml": _results(ids["dataset"], 0.8),
        "reproductions/1.json": json.dumps(report).encode(),
        "plot.svg": plot,
        "config.json": b"{}",
    }
    for path, data in files.items():
        api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id=ids["model"])
    operation = CommitOperationAdd(".eval_results/bob.yaml", _results(ids["dataset"], 0.7))
    bob.create_commit(ids["model"], operations=[operation], commit_message="bob's results", create_pr=True)
    bob.comment_discussion(ids["model"], 1, comment="Measured **again**.")
    api.create_repo(ids["private"], private=True)
    return ids


@pytest.mark.slow
def test_every_page_loads_cleanly_and_every_link_resolves(browser, hub, site):
    watched = Watched(browser, hub.url)
    queue = ["/", f"/{site['model']}", f"/datasets/{site['dataset']}"]
    seen: set[str] = set()
    while queue and len(seen) < 60:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        status = watched.open(path)
        assert status == 200, (path, status)
        for link in watched.links():
            target = urlsplit(link)
            key = target.path + (f"?{target.query}" if target.query else "")
            if "/resolve/" in target.path:
                assert watched.context.request.get(urljoin(hub.url, link)).status == 200, link
            elif any(name in target.path for name in ("browser-", "/login")) or target.path == "/":
                queue.append(key)
    assert watched.problems == [] and watched.dialogs == []
    assert {f"/datasets/{site['dataset']}/leaderboard", f"/datasets/{site['dataset']}/viewer"} <= seen
    assert f"/{site['model']}/discussions/1" in seen
    watched.context.close()


def test_login_shows_private_repos_and_logout_hides_them(browser, hub, site):
    watched = Watched(browser, hub.url)
    assert watched.open(f"/{site['private']}") == 404
    watched.problems.clear()  # the browser logs the 404 itself
    watched.page.click("text=log in")
    watched.page.fill("#token", hub.alice_token)
    watched.page.click("button[type=submit] >> text=Log in")
    watched.page.wait_for_url(f"{hub.url}/{site['private']}")
    assert "browser-secret" in watched.page.inner_text("h1")
    cookies = watched.context.cookies()
    assert [(c["name"], c["httpOnly"], c["sameSite"]) for c in cookies] == [
        ("hubrerank_session", True, "Strict")
    ]
    assert watched.page.evaluate("document.cookie") == ""  # HttpOnly: no script could read it
    watched.open("/")
    assert site["private"] in watched.page.inner_text("main")
    watched.page.click("text=Log out")
    watched.page.wait_for_url(f"{hub.url}/")
    assert site["private"] not in watched.page.inner_text("main")
    assert watched.problems == [] and watched.dialogs == []
    assert watched.open(f"/{site['private']}") == 404
    watched.context.close()


def test_a_wrong_token_stays_on_the_form(browser, hub):
    watched = Watched(browser, hub.url)
    watched.open("/login")
    watched.page.fill("#token", "not-a-token-at-all")
    watched.page.click("button[type=submit] >> text=Log in")
    assert "That token is not valid" in watched.page.inner_text("main")
    assert watched.context.cookies() == []
    watched.context.close()


def test_injected_script_never_runs(browser, hub, name):
    from huggingface_hub import HfApi

    api = HfApi(endpoint=hub.url, token=hub.alice_token)
    repo = f"alice/{name}"
    api.create_repo(repo)
    Web(hub.url).commit(
        hub.alice_token,
        repo,
        {
            "README.md": ATTACKS.encode(),
            "evil.svg": EVIL_SVG,
            "evil.html": EVIL_HTML,
            "notes.md": ATTACKS.encode(),
        },
    )
    watched = Watched(browser, hub.url)
    session = hub.alice_token
    for path in (
        f"/{repo}",
        f"/{repo}/blob/main/notes.md",
        f"/{repo}/blob/main/evil.html",
        f"/{repo}/blob/main/evil.svg",
    ):
        assert watched.open(path) == 200
        assert watched.page.is_visible("main")  # the card's <style> did not hide the page
    watched.open(f"/{repo}")
    for text in ("link", "a", "d"):
        watched.page.click(f"main >> text={text}", timeout=15_000, no_wait_after=True)
        watched.open(f"/{repo}")
    assert watched.page.query_selector("#forged") is None
    for path in (f"/{repo}/resolve/main/evil.html", f"/{repo}/resolve/main/evil.svg"):
        watched.open(path)  # the files themselves, opened directly: sandboxed, nothing runs
    assert watched.dialogs == [], watched.dialogs
    assert not [line for line in watched.console if "alert" in line or "svg file" in line]
    assert session not in watched.page.content()
    watched.context.close()


@pytest.mark.slow
def test_a_5_mb_card_and_a_10000_file_tree_load(browser, hub, name):
    from huggingface_hub import HfApi

    api = HfApi(endpoint=hub.url, token=hub.alice_token)
    web = Web(hub.url)
    big, many = f"alice/{name}-big", f"alice/{name}-many"
    api.create_repo(big)
    paragraph = "A line of the card with **bold** text, a [link](x.md) and `code`.\n\n"
    web.commit(
        hub.alice_token, big, {"README.md": (paragraph * (5 * 1024 * 1024 // len(paragraph))).encode()}
    )
    api.create_repo(many)
    web.commit(hub.alice_token, many, {f"f/{i:05d}.txt": b"x" for i in range(10_000)})
    watched = Watched(browser, hub.url)
    assert watched.open(f"/{big}") == 200
    assert "This card is long" in watched.page.inner_text("main")
    assert watched.open(f"/{many}/tree/main/f") == 200
    assert "10000 entries" in watched.page.inner_text("main")
    assert watched.problems == [] and watched.dialogs == []
    watched.context.close()


def test_without_chromium_a_machine_skips_and_ci_fails(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        _launch()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="missing on CI"):
        _launch()
