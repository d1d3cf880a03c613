"""Whether an ``.eval_results`` entry's ``verifyToken`` makes it "verified" on the embedded Hub.

An entry is verified when all of these hold (:func:`check_entry`), and the reason is kept when one fails:

1. the token reads as a hubrerank token (:mod:`hubrerank.signatures`);
2. its key id is registered (:mod:`hubrerank.server.keys`) to the user the token names as signer, and
   that key made the signature;
3. it was signed for this repo, and the entry says what was signed: dataset, revision, task, value, and
   the pipeline its notes state (``pipeline: <first stage>``, for a reranker measured on another model's
   results, none otherwise): an edited value, or a token copied to another entry or repo, fails here;
4. the signed model sha is the commit holding the entry or one of its ancestors, and every model file
   (:func:`hubrerank.signatures.is_model_file`) is the same in both: a later commit that changes the
   weights, or the config, voids it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from hubrerank.server.keys import VerifyKeys
from hubrerank.server.objects import Commit, Repo, RevisionNotFound
from hubrerank.server.storage import Store
from hubrerank.signatures import SignedResult, TokenError, is_model_file, read_token, stated_pipeline

MAX_ANCESTRY = 10_000  # commits walked back from the holder to find the signed one
CACHE_SIZE = 8192  # checks kept: (repo, holder commit, entry, key registry version) never changes its answer


@dataclass(frozen=True)
class EntryFields:
    """What an ``.eval_results`` entry states, as far as a token is checked against it."""

    dataset_id: str
    task_id: str
    dataset_revision: str | None
    value: float
    verify_token: str
    notes: str | None = None


@dataclass(frozen=True)
class TokenCheck:
    """The outcome: verified or not, why not, and what the token said (None if it could not be read)."""

    verified: bool
    reason: str
    signed: SignedResult | None = None


def check_entry(store: Store, keys: VerifyKeys, repo: Repo, holder: Commit, entry: EntryFields) -> TokenCheck:
    """Check ``entry``'s token, held in ``repo`` at commit ``holder`` (module docstring)."""
    try:
        token = read_token(entry.verify_token)
    except TokenError as error:
        return TokenCheck(False, str(error))
    signed = token.result
    key = keys.get(token.key_id)
    if key is None:
        return TokenCheck(False, f"signed with key {token.key_id}, which no user has registered", signed)
    if key.user != signed.signer:
        return TokenCheck(False, f"key {token.key_id} belongs to {key.user}, not to {signed.signer}", signed)
    if not token.signed_by(key.key):
        return TokenCheck(False, "the signature does not match the token's content", signed)
    if signed.model.lower() != repo.id.lower():
        return TokenCheck(False, f"signed for {signed.model}, not for {repo.id}", signed)
    stated = (entry.dataset_id, entry.task_id, entry.dataset_revision)
    if stated != (signed.dataset, signed.task_id, signed.dataset_revision):
        return TokenCheck(False, "signed for another dataset, revision or task than the entry names", signed)
    if not _same_value(entry.value, signed.value):
        return TokenCheck(False, f"the entry's value differs from the signed {signed.value!r}", signed)
    if stated_pipeline(entry.notes) != signed.pipeline:
        return TokenCheck(False, "signed for another pipeline than the entry's notes state", signed)
    return _check_model_files(store, repo, holder, signed)


def _same_value(stated: object, signed: float) -> bool:
    """Exactly the signed number: YAML and JSON write a float's shortest repr, which reads back equal."""
    return isinstance(stated, (int, float)) and not isinstance(stated, bool) and float(stated) == signed


def _check_model_files(store: Store, repo: Repo, holder: Commit, signed: SignedResult) -> TokenCheck:
    """The signed commit is an ancestor of ``holder`` (or it), with the same model files."""
    try:
        origin = store.commit(repo, signed.model_sha)
    except RevisionNotFound:
        return TokenCheck(
            False, f"signed for commit {signed.model_sha[:12]}, which {repo.id} does not have", signed
        )
    if not _is_ancestor(store, repo, origin.id, holder):
        return TokenCheck(
            False, f"signed for commit {signed.model_sha[:12]}, which is not in this commit's history", signed
        )
    before = {path: entry.sha256 for path, entry in origin.tree.items() if is_model_file(path)}
    after = {path: entry.sha256 for path, entry in holder.tree.items() if is_model_file(path)}
    if before != after:
        changed = sorted(set(before.items()) ^ set(after.items()))[0][0]
        return TokenCheck(False, f"{changed} changed since the signed commit {signed.model_sha[:12]}", signed)
    return TokenCheck(True, f"re-measured by {signed.signer} ({signed.verdict})", signed)


def _is_ancestor(store: Store, repo: Repo, sha: str, head: Commit) -> bool:
    """True if commit ``sha`` is ``head`` or reachable from it through parents (merges included)."""
    seen: set[str] = set()
    todo = [head.id]
    while todo and len(seen) < MAX_ANCESTRY:
        current = todo.pop()
        if current == sha:
            return True
        if current in seen:
            continue
        seen.add(current)
        try:
            todo.extend(store.commit(repo, current).parents)
        except RevisionNotFound:
            continue
    return False


class Verifier:
    """:func:`check_entry` with its answers cached: a check depends only on the repo, the holding commit,
    the entry and the key registry, so it is kept until the registry file changes."""

    def __init__(self, store: Store, keys: VerifyKeys) -> None:
        self.store, self.keys = store, keys
        self._cache: OrderedDict[tuple, TokenCheck] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, repo: Repo, holder_sha: str, entry: EntryFields) -> TokenCheck:
        key = (repo.type, repo.id, holder_sha, entry, self.keys.version())
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        found = check_entry(self.store, self.keys, repo, self.store.commit(repo, holder_sha), entry)
        with self._lock:
            self._cache[key] = found
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return found
