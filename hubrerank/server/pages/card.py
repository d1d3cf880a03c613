"""A repo's card as its page shows it: the YAML header as a metadata panel, the body rendered."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubrerank.server.objects import Commit
from hubrerank.server.pages.render import Rendered, Where, render_markdown
from hubrerank.server.storage import Store
from hubrerank.server.views import card_data, front_matter

CARD_FILE = "README.md"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# The header keys the panel shows, in this order, with their labels; the rest stays in the YAML.
PANEL_KEYS = (
    ("license", "License"),
    ("language", "Language"),
    ("base_model", "Base model"),
    ("datasets", "Datasets"),
    ("library_name", "Library"),
    ("pipeline_tag", "Task"),
    ("tags", "Tags"),
)
LINKED_KEYS = {"base_model": "model", "datasets": "dataset"}  # values that name a repo of this type
MAX_PANEL_VALUES = 50  # values shown per key


@dataclass(frozen=True)
class PanelValue:
    """One value of the metadata panel, with the repo it names (type, id) if it names one."""

    text: str
    repo_type: str | None = None


@dataclass(frozen=True)
class Card:
    """What the page shows of README.md: the panel's rows, the rendered body, the raw header data."""

    panel: list[tuple[str, str, list[PanelValue]]]  # (key, label, values)
    body: Rendered
    data: dict[str, Any]


def split_front_matter(text: str) -> str:
    """The card's body: ``text`` without its YAML header (the whole text if it has none)."""
    block = front_matter(text)
    if block is None:
        return text
    stripped = text.lstrip()
    first = _LINE_BREAK.match(stripped, 3)
    position = (first.end() if first else 3) + len(block)
    if block:  # the break that ends the header's last line
        end = _LINE_BREAK.match(stripped, position)
        position = end.end() if end else position
    position += 3  # the closing ---
    last = _LINE_BREAK.match(stripped, position)
    return stripped[last.end() if last else position :]


@functools.lru_cache(maxsize=128)
def _rendered(blob: Path, where: Where) -> Rendered:
    """The body of the card stored at ``blob`` (content-addressed, so the key never goes stale)."""
    text = blob.read_bytes().decode("utf-8", errors="replace")
    return render_markdown(split_front_matter(text), where)


def _values(value: Any) -> list[str]:
    """A header value (one or a list) as the panel's texts, at most ``MAX_PANEL_VALUES``."""
    items = value if isinstance(value, list) else [value]
    return [str(item) for item in items[:MAX_PANEL_VALUES] if item not in (None, "")]


def read_card(store: Store, commit: Commit, where: Where) -> Card | None:
    """The commit's README.md as a card; None if it has none."""
    entry = commit.tree.get(CARD_FILE)
    if entry is None:
        return None
    data = card_data(store, commit) or {}
    panel = []
    for key, label in PANEL_KEYS:
        values = [PanelValue(text, LINKED_KEYS.get(key)) for text in _values(data.get(key))]
        if values:
            panel.append((key, label, values))
    return Card(panel, _rendered(store.blob_path(entry.sha256), where), data)
