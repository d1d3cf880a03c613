"""Markdown from strangers: rendered, then cut down to what cannot run."""

from __future__ import annotations

import pytest

from hubrerank.server.pages.card import split_front_matter
from hubrerank.server.pages.render import MAX_MARKDOWN_CHARS, Where, render_markdown

WHERE = Where("alice/model", "main")


@pytest.mark.parametrize(
    ("markdown", "forbidden"),
    [
        ("<script>alert(1)</script>", "<script"),
        ('<img src="x.png" onerror="alert(1)">', "onerror"),
        ("[click](javascript:alert(1))", 'href="javascript'),
        ('<a href=" javascript:alert(1)">x</a>', "alert"),
        ('<a href="java&#x09;script:alert(1)">x</a>', "alert"),
        ('<a href="JaVaScRiPt:alert(1)">x</a>', "alert"),
        ("![x](data:image/png;base64,AAAA)", 'src="data'),
        ('<img src="data:image/svg+xml;base64,AAAA">', "data:"),
        ('<svg onload="alert(1)"><circle r="3"/></svg>', "<svg"),
        ('<iframe src="https://example.org"></iframe>', "<iframe"),
        ('<p style="background:url(x)">styled</p>', "style="),
        ("<form action='/logout' method='post'><button>x</button></form>", "<form"),
        ('<a href="/x" onclick="alert(1)">x</a>', "onclick"),
        ("<object data='x.swf'></object>", "<object"),
        ('<meta http-equiv="refresh" content="0;url=/logout">', "<meta"),
    ],
)
def test_nothing_that_runs_survives(markdown, forbidden):
    html = render_markdown(markdown, WHERE).html
    assert forbidden.lower() not in html.lower(), html


def test_tables_code_and_kept_html_render():
    markdown = (
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n```\nx < y\n```\n\n<details><summary>s</summary>d</details>"
    )
    html = render_markdown(markdown, WHERE).html
    assert "<table>" in html and "<td>1</td>" in html
    assert "<pre><code>x &lt; y" in html
    assert "<details><summary>s</summary>d</details>" in html


@pytest.mark.parametrize(
    ("markdown", "url"),
    [
        ("![plot](plot.png)", 'src="/alice/model/resolve/main/plot.png"'),
        ("![plot](./docs/a%20b.png)", 'src="/alice/model/resolve/main/docs/a%20b.png"'),
        ("[recipe](recipe.yaml)", 'href="/alice/model/blob/main/recipe.yaml"'),
        ("[up](../../etc/passwd)", '<a rel="noopener noreferrer nofollow">up</a>'),
        ("[up](a%2F..%2F..%2Fx)", '<a rel="noopener noreferrer nofollow">up</a>'),
        ("[anchor](#usage)", 'href="#usage"'),
        ("[abs](/datasets/alice/data)", 'href="/datasets/alice/data"'),
        ("[web](https://example.org/x)", 'href="https://example.org/x"'),
    ],
)
def test_relative_links_point_into_the_repo(markdown, url):
    assert url in render_markdown(markdown, WHERE).html


def test_a_revision_with_a_slash_stays_one_segment():
    html = render_markdown("![p](p.png)", Where("datasets/alice/d", "feature/x")).html
    assert 'src="/datasets/alice/d/resolve/feature%2Fx/p.png"' in html


def test_a_long_text_is_cut_and_says_so():
    rendered = render_markdown("word " * (MAX_MARKDOWN_CHARS // 4), WHERE)
    assert rendered.cut
    assert not render_markdown("short", WHERE).cut


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ("---\nlicense: mit\n---\n# Title\n", "# Title\n"),
        ("---\r\nlicense: mit\r\n---\r\nbody", "body"),
        ("---\n---\nbody", "body"),
        ("\n\n---\na: 1\n---\n", ""),
        ("# No header\n---\n", "# No header\n---\n"),
        ("---\nnever closed\n", "---\nnever closed\n"),
    ],
)
def test_the_header_is_split_off(text, body):
    assert split_front_matter(text) == body
