"""What the embedded Hub's API shows of a commit: tree entries, repo info, card data, LFS rules."""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from hubrerank.server.objects import Commit, Entry, Repo, RepoState
from hubrerank.server.storage import LFS_SIZE_THRESHOLD, Store, default_gitattributes

MAX_YAML_DEPTH = 64
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
MAX_CARD_BYTES = 2 * 1024 * 1024  # like validate-yaml's body limit: front matter is read from this much


def front_matter(text: str) -> str | None:
    """The YAML between a README's opening ``---`` line and the next ``---`` line, or None.

    A line scan, linear in the text and never splitting it into a list: the regex it replaces
    backtracked quadratically on ``---`` followed by thousands of newlines (37 s for 4 KB).
    """
    text = text.lstrip()
    breaks = _LINE_BREAK.finditer(text)
    first = next(breaks, None)
    if first is None or first.start() != 3 or not text.startswith("---"):
        return None
    body_start = line_start = content_end = first.end()
    while True:
        match = next(breaks, None)
        line_end = len(text) if match is None else match.start()
        if line_end - line_start == 3 and text.startswith("---", line_start):
            return text[body_start:content_end]
        if match is None:
            return None
        content_end, line_start = line_end, match.end()


class CardLoader(yaml.SafeLoader):
    """SafeLoader with bounded nesting and bounded alias expansion.

    Aliases let a few hundred bytes expand to gigabytes (a "billion laughs" card made one anonymous
    model_info use 1.3 GB), but ``yaml.dump`` (so huggingface_hub's ModelCardData) writes them for
    any object it meets twice: they are allowed as long as the card, every alias expanded, weighs at
    most ``4 x its text + 100,000`` (a node counts 1, a scalar also its length) and is at most
    ``MAX_YAML_DEPTH`` deep. Deeper nesting would also exhaust the recursive composer's stack.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._budget = 4 * len(stream) + 100_000

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(
                    None, None, f"YAML nested deeper than {MAX_YAML_DEPTH} levels", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> yaml.Node | None:
        node = super().compose_document()
        if node is not None:
            _check_expansion(node, self._budget)
        return node


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_expansion(root: yaml.Node, budget: int) -> None:
    """ComposerError if ``root``, aliases expanded, weighs over ``budget``, is too deep, or is cyclic.

    An iterative post-order walk that sizes every distinct node once (aliases share nodes), so the
    check itself is linear in the text.
    """
    weight: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded weight, expanded depth)
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            sizes = [weight[id(child)] for child in _children(node)]
            own = 1 + (len(node.value) if isinstance(node, yaml.ScalarNode) else 0)
            total = own + sum(size for size, _ in sizes)
            depth = 1 + max((d for _, d in sizes), default=0)
            if total > budget or depth > MAX_YAML_DEPTH:
                problem = (
                    f"expands to more than {budget}"
                    if total > budget
                    else f"nests deeper than {MAX_YAML_DEPTH}"
                )
                raise yaml.composer.ComposerError(None, None, f"YAML with aliases {problem}", node.start_mark)
            weight[key] = (total, depth)
        elif key in open_nodes:
            raise yaml.composer.ComposerError(None, None, "YAML alias refers to itself", node.start_mark)
        elif key not in weight:
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node) if id(child) not in weight)


def load_card_yaml(text: str) -> Any:
    """Parse card YAML with :class:`CardLoader`; yaml.YAMLError if malformed, too deep or too large."""
    return yaml.load(text, Loader=CardLoader)  # CardLoader is a SafeLoader: no arbitrary objects


def card_data(store: Store, commit: Commit) -> dict | None:
    """The YAML front matter of the commit's README.md, or None (also if it is not acceptable YAML)."""
    entry = commit.tree.get("README.md")
    if entry is None:
        return None
    text = _card_json(store.blob_path(entry.sha256))
    return None if text is None else json.loads(text)


@functools.lru_cache(maxsize=256)
def _card_json(blob: Path) -> str | None:
    """The front matter of the README stored at ``blob``, as JSON text: parsing a card's YAML takes
    ~10 ms (a model-index of 100 metrics), every model_info and model page needs it, and a blob's
    path names its content, so the cached text never goes stale (a new dict is parsed per caller)."""
    with blob.open("rb") as handle:
        head = handle.read(MAX_CARD_BYTES)
    block = front_matter(head.decode("utf-8", errors="replace"))
    if block is None:
        return None
    try:
        data = load_card_yaml(block)
    except yaml.YAMLError:
        return None
    return json.dumps(data, default=str) if isinstance(data, dict) else None


class LfsRules:
    """Which files a commit on top of ``commit`` should store as LFS (the preupload answer).

    Like the Hub: files of 10 MB or more, files whose first bytes hold a NUL byte, and files matching
    a ``filter=lfs`` pattern of the revision's .gitattributes or of the default one (``*.parquet``,
    ``*.safetensors``, ...: ``Dataset.push_to_hub`` deletes its parquet shards once they are uploaded,
    so they must go through LFS even if a user's .gitattributes forgot them).
    """

    def __init__(self, store: Store, commit: Commit, repo_type: str) -> None:
        self._patterns: list[str] = []
        entry = commit.tree.get(".gitattributes")
        text = default_gitattributes(repo_type).decode()
        text += store.read_blob(entry.sha256).decode("utf-8", errors="replace") if entry else ""
        for line in text.splitlines():
            fields = line.split()
            if len(fields) > 1 and not fields[0].startswith("#") and "filter=lfs" in fields[1:]:
                self._patterns.append(fields[0].lstrip("/"))

    def is_lfs(self, path: str, size: int, sample: bytes) -> bool:
        if size >= LFS_SIZE_THRESHOLD or b"\x00" in sample:
            return True
        return any(_matches(path, pattern) for pattern in self._patterns)


def _matches(path: str, pattern: str) -> bool:
    """A gitattributes pattern: without '/' it matches the file name, else the whole path."""
    if "/" not in pattern:
        return fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], pattern)
    return fnmatch.fnmatchcase(path, pattern)


def folders(tree: dict[str, Entry]) -> set[str]:
    """Every folder that holds a file of ``tree``, at any depth."""
    folders = set()
    for path in tree:
        parts = path.split("/")[:-1]
        folders.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return folders


def tree_id(tree: dict[str, Entry], folder: str) -> str:
    """A stable id of a folder's content (the Hub's git tree oid plays this role)."""
    prefix = folder + "/"
    listing = "".join(
        f"{p[len(prefix) :]} {e.oid}\n" for p, e in sorted(tree.items()) if p.startswith(prefix)
    )
    return hashlib.sha1(listing.encode()).hexdigest()


class LastCommits:
    """For ``expand=true`` listings: the commit that last changed each path."""

    def __init__(self, store: Store, repo: Repo, head: Commit) -> None:
        self._history = list(store.history(repo, head))
        self._folders: dict[str, set[str]] = {}

    def _signature(self, commit: Commit, path: str) -> str | None:
        entry = commit.tree.get(path)
        if entry is not None:
            return entry.oid
        if commit.id not in self._folders:
            self._folders[commit.id] = folders(commit.tree)
        return tree_id(commit.tree, path) if path in self._folders[commit.id] else None

    def of(self, path: str) -> dict[str, str]:
        current = self._signature(self._history[0], path)
        last = self._history[0]
        for commit in self._history[1:]:
            if self._signature(commit, path) != current:
                break
            last = commit
        return {"id": last.id, "title": last.title, "date": last.date}


def entry_json(commit: Commit, path: str, last: LastCommits | None) -> dict[str, Any]:
    """A file or folder as the tree and paths-info endpoints list it."""
    entry = commit.tree.get(path)
    if entry is None:
        item: dict[str, Any] = {"type": "directory", "oid": tree_id(commit.tree, path), "size": 0}
        item["path"] = path
    else:
        item = {"type": "file", "oid": entry.oid, "size": entry.size, "path": path}
        if entry.lfs:
            item["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": entry.pointer_size}
    if last is not None:
        item["lastCommit"] = last.of(path)
    return item


def _repo_tags(repo: Repo, card: dict | None, library: str | None) -> list[str]:
    card = card or {}
    tags = card.get("tags") or []
    tags = [tags] if isinstance(tags, str) else [str(t) for t in tags]
    extra = [library, card.get("pipeline_tag")] if repo.type == "model" else []
    if card.get("license"):
        extra.append(f"license:{card['license']}")
    return list(dict.fromkeys(t for t in [*tags, *extra] if t))


def repo_info(store: Store, state: RepoState, commit: Commit, blobs: bool) -> dict[str, Any]:
    """``GET /api/{models,datasets}/ID[/revision/REV]``: sha, privacy, card data, siblings, tags."""
    repo, card = state.repo, card_data(store, commit)
    siblings = []
    for path, entry in sorted(commit.tree.items()):
        sibling: dict[str, Any] = {"rfilename": path}
        if blobs:
            sibling.update(size=entry.size, blobId=entry.oid)
            if entry.lfs:
                lfs = {"sha256": entry.sha256, "size": entry.size, "pointerSize": entry.pointer_size}
                sibling["lfs"] = lfs
        siblings.append(sibling)
    library = (card or {}).get("library_name")
    if repo.type == "model" and library is None:
        if "config_sentence_transformers.json" in commit.tree:
            library = "sentence-transformers"
        elif "config.json" in commit.tree:
            library = "transformers"
    info: dict[str, Any] = {
        "_id": hashlib.sha1(f"{repo.type}/{repo.id}/{state.created_at}".encode()).hexdigest()[:24],
        "id": repo.id,
        "author": repo.ns,
        "sha": commit.id,
        "lastModified": commit.date,
        "createdAt": state.created_at,
        "private": state.private,
        "gated": False,
        "disabled": False,
        "downloads": 0,
        "likes": 0,
        "tags": _repo_tags(repo, card, library),
        "siblings": siblings,
        "usedStorage": sum(entry.size for entry in commit.tree.values()),
    }
    if card is not None:
        info["cardData"] = card
    if repo.type == "model":
        info.update(modelId=repo.id, library_name=library, pipeline_tag=(card or {}).get("pipeline_tag"))
    return info
