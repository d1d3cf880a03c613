"""Verification keys: the Ed25519 public keys users register to sign re-measured results.

A ``verifyToken`` (:mod:`hubrerank.signatures`) names its key by id; the embedded Hub shows an entry as
"verified" only if that id is registered here to the user the token names. Keys live in
``verify-keys.json`` in the data dir (key id -> user, key, when added), rewritten whole under a lock.

Routes (huggingface.co has no public API for this; these are documented in docs/server.md):
``GET /api/users/{user}/verify-keys`` (anyone), ``POST /api/verify-keys`` with ``{"key": "ed25519:..."}``
(registers the key to the caller) and ``DELETE /api/verify-keys/{id}`` (the caller's own key).
The admin command ``hubrerank hub key add USER KEY`` writes the same file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, Response

from hubrerank.errors import InputError
from hubrerank.server.disk import file_lock, write_json_atomic
from hubrerank.server.objects import StoreError, now_iso, validate_name
from hubrerank.signatures import key_id

if TYPE_CHECKING:
    from hubrerank.server.auth import Users
    from hubrerank.server.call import Call

KEYS_FILE = "verify-keys.json"
MAX_KEYS_PER_USER = 32


class KeyConflict(StoreError):
    status = 409


class KeyNotFound(StoreError):
    status = 404


class BadKey(StoreError):
    status = 400


@dataclass(frozen=True)
class VerifyKey:
    """A registered public key: its id, owner, the ``ed25519:...`` text and when it was added."""

    id: str
    user: str
    key: str
    created_at: str


class VerifyKeys:
    """The verification keys of one data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir
        self.path = data_dir / KEYS_FILE

    def _read(self) -> dict[str, VerifyKey]:
        try:
            data = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        return {kid: VerifyKey(**value) for kid, value in data.items()}

    def _write(self, keys: dict[str, VerifyKey]) -> None:
        write_json_atomic(self.path, {kid: asdict(key) for kid, key in sorted(keys.items())})

    def add(self, user: str, public_text: str) -> VerifyKey:
        """Register ``public_text`` to ``user``; the same key again is a no-op, another user's is a 409."""
        try:
            kid = key_id(public_text)
        except InputError as error:
            raise BadKey(str(error)) from None
        with file_lock(self.root / "locks" / "verify-keys.lock"):
            keys = self._read()
            if kid in keys:
                if keys[kid].user != user:
                    raise KeyConflict(f"key {kid} is registered to another user")
                return keys[kid]
            if sum(key.user == user for key in keys.values()) >= MAX_KEYS_PER_USER:
                raise KeyConflict(f"user {user} has {MAX_KEYS_PER_USER} keys; remove one first")
            keys[kid] = VerifyKey(kid, validate_name(user, "user name"), public_text.strip(), now_iso())
            self._write(keys)
            return keys[kid]

    def remove(self, user: str, kid: str) -> None:
        """Remove ``user``'s key ``kid``; KeyNotFound if they have no such key."""
        with file_lock(self.root / "locks" / "verify-keys.lock"):
            keys = self._read()
            if kid not in keys or keys[kid].user != user:
                raise KeyNotFound(f"user {user} has no verification key {kid}")
            del keys[kid]
            self._write(keys)

    def version(self) -> tuple[int, int] | None:
        """What changes whenever the registry does (its file's mtime and size); None while it is empty."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def get(self, kid: str) -> VerifyKey | None:
        return self._read().get(kid)

    def of_user(self, user: str) -> list[VerifyKey]:
        return [key for key in self._read().values() if key.user == user]

    def drop_user(self, user: str) -> None:
        """Forget every key of a removed user (their signatures stop counting as verified)."""
        with file_lock(self.root / "locks" / "verify-keys.lock"):
            keys = self._read()
            kept = {kid: key for kid, key in keys.items() if key.user != user}
            if kept != keys:
                self._write(kept)


def _key_json(key: VerifyKey) -> dict[str, str]:
    return {"id": key.id, "key": key.key, "createdAt": key.created_at}


class KeyRoutes:
    """The handlers (mixed into HubApp, which provides ``users`` and ``verify_keys``)."""

    users: Users
    verify_keys: VerifyKeys

    def user_keys(self, call: Call) -> Response:
        user = call.params["user"]
        if user not in self.users.names():
            raise KeyNotFound(f"user {user!r} not found")
        return JSONResponse([_key_json(key) for key in self.verify_keys.of_user(user)])

    def add_key(self, call: Call) -> Response:
        user = call.require_user()
        public_text = call.json().get("key", str, required=True)
        return JSONResponse(_key_json(self.verify_keys.add(user.name, public_text)))

    def remove_key(self, call: Call) -> Response:
        user = call.require_user()
        self.verify_keys.remove(user.name, call.params["kid"])
        return JSONResponse({})
