"""Users, tokens and permissions of the embedded Hub.

Users live in ``users.json`` in the data dir (mode 0600) with the sha256 of their token, never the
token itself; tokens are compared with ``hmac.compare_digest``. A user may write to their own
namespace and to their orgs; everyone may read public repos. LFS upload URLs carry an HMAC signature
(the client sends no credentials with the upload itself), keyed by a secret kept in the data dir so
that every process serving the same dir accepts them.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hubrerank.errors import ServerError
from hubrerank.server.disk import data_dir_error, file_lock, write_atomic, write_json_atomic
from hubrerank.server.objects import RESERVED_NAMESPACES, Invalid, validate_name

_TOKEN_RE = re.compile(r"^[\x21-\x7e]{8,512}$")  # printable ASCII, no spaces: safe in a header
_USER_FORM = "NAME:@TOKEN_FILE[:ORG,ORG...]"
LOCAL_USER_FILE = "local-user.json"
USERS_FILE = "users.json"
SECRET_FILE = "secret"


@dataclass(frozen=True)
class UserSpec:
    """A user of the embedded Hub: name, token, and the orgs they may also write to."""

    name: str
    token: str
    orgs: tuple[str, ...] = ()
    fullname: str = ""


@dataclass(frozen=True)
class Account:
    """An authenticated caller (the token is not kept)."""

    name: str
    orgs: tuple[str, ...] = ()
    fullname: str = ""

    def owns(self, namespace: str) -> bool:
        """True if this account may write to, and read private repos of, ``namespace``."""
        return namespace == self.name or namespace in self.orgs


def _check_user(spec: UserSpec) -> UserSpec:
    """Raise ServerError (naming the user, never the token) if ``spec`` is not a usable user."""
    for what, name in [("user name", spec.name), *(("org name", org) for org in spec.orgs)]:
        try:
            validate_name(name, what)
        except Invalid as error:
            raise ServerError(f"--user {spec.name}: {error}") from None
        if name in RESERVED_NAMESPACES:
            raise ServerError(f"--user {spec.name}: {what} {name!r} is reserved; choose another")
    if not _TOKEN_RE.match(spec.token):
        raise ServerError(
            f"--user {spec.name}: the token must be 8-512 printable ASCII characters without spaces or ':'"
        )
    return spec


def read_token_file(path: Path, who: str) -> str:
    """The token stored in ``path`` (surrounding whitespace stripped); ServerError naming ``who``."""
    try:
        return Path(path).read_text().strip()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise ServerError(f"{who}: cannot read token file {path}: {reason}") from None


def parse_user(text: str) -> UserSpec:
    """Parse ``NAME:@TOKEN_FILE[:ORG,ORG...]`` (the ``--user`` option); ServerError if malformed.

    The legacy form ``NAME:TOKEN[:ORG,...]`` is still parsed (see :func:`token_in_argv`): a token on
    the command line is visible to every local user in ``ps``.
    """
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
        raise ServerError(f"--user expects {_USER_FORM}; got {len(parts)} ':'-separated part(s)")
    token = parts[1]
    if token.startswith("@"):
        token = read_token_file(Path(token[1:]), f"--user {parts[0]}")
    orgs = tuple(org.strip() for org in parts[2].split(",") if org.strip()) if len(parts) == 3 else ()
    return _check_user(UserSpec(parts[0], token, orgs))


def token_in_argv(text: str) -> bool:
    """True if a ``--user`` value carries the token itself rather than ``@FILE``."""
    parts = text.split(":")
    return len(parts) > 1 and not parts[1].startswith("@")


def new_token() -> str:
    """A fresh random token."""
    return "hrk_" + secrets.token_hex(20)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ensure_local_user(data_dir: Path) -> UserSpec:
    """The embedded Hub's local user: the OS user name (or "local"), token generated once.

    The token is kept in ``DATA_DIR/local-user.json`` (mode 0600) so that every process using the same
    data dir (``--hub local``, ``hubrerank hub serve``) acts as the same user.
    """
    data_dir = Path(data_dir)
    path = data_dir / LOCAL_USER_FILE
    try:
        with file_lock(data_dir / "locks" / "users.lock"):
            if not path.exists():
                try:
                    name = validate_name(getpass.getuser(), "user name")
                except (Invalid, KeyError, OSError):
                    name = "local"
                if name in RESERVED_NAMESPACES:
                    name = "local"
                token = new_token()
                write_json_atomic(path, {"name": name, "token": token}, mode=0o600)
            data = json.loads(path.read_text())
    except OSError as error:
        raise ServerError(f"{data_dir_error(data_dir, error)} or $HUBRERANK_HOME") from None
    return UserSpec(data["name"], data["token"])


class Users:
    """The users of one data dir, re-read when another process changed ``users.json``."""

    def __init__(self, data_dir: Path) -> None:
        self._path = Path(data_dir) / USERS_FILE
        self._lock_path = Path(data_dir) / "locks" / "users.lock"
        self._stamp: tuple[int, int, int] | None = None
        self._users: dict[str, dict] = {}

    def _load(self) -> dict[str, dict]:
        """The stored users, re-read whenever the file changed (a removed user's token stops at once)."""
        try:
            info = self._path.stat()
        except FileNotFoundError:
            self._users, self._stamp = {}, None
            return {}
        stamp = (info.st_mtime_ns, info.st_ino, info.st_size)  # every rewrite is a new inode
        if stamp != self._stamp:
            self._users = json.loads(self._path.read_text())["users"]
            self._stamp = stamp
        return self._users

    def merge(self, users: Sequence[UserSpec]) -> bool:
        """Add ``users`` (replacing users of the same name); ServerError if a token is reused.

        Writes ``users.json`` only if something changed, so a server restarted with the same users
        starts on a full or read-only disk. Returns True if it wrote.
        """
        specs = [_check_user(user) for user in users]
        if not specs:
            return False
        with file_lock(self._lock_path):
            stored = dict(self._load())
            for spec in specs:
                digest = _token_hash(spec.token)
                for other, record in stored.items():
                    if other != spec.name and hmac.compare_digest(record["token_sha256"], digest):
                        raise ServerError(f"user {spec.name}: user {other} already has this token")
                record = {"token_sha256": digest, "orgs": list(spec.orgs)}
                stored[spec.name] = {**record, "fullname": spec.fullname} if spec.fullname else record
            if stored == self._load():
                return False
            write_json_atomic(self._path, {"users": stored}, mode=0o600)
        return True

    def remove(self, name: str) -> bool:
        """Delete user ``name`` and with it their token; False if there was no such user."""
        with file_lock(self._lock_path):
            stored = dict(self._load())
            if stored.pop(name, None) is None:
                return False
            write_json_atomic(self._path, {"users": stored}, mode=0o600)
        return True

    def orgs(self) -> dict[str, tuple[str, ...]]:
        """Every user's name and orgs (never their token hash)."""
        return {name: tuple(record["orgs"]) for name, record in sorted(self._load().items())}

    def authenticate(self, token: str) -> Account | None:
        """The account holding ``token``, or None."""
        digest = _token_hash(token)
        found = None
        for name, record in self._load().items():
            if hmac.compare_digest(record["token_sha256"], digest):
                found = Account(name, tuple(record["orgs"]), record.get("fullname", ""))
        return found

    def names(self) -> list[str]:
        return sorted(self._load())

    def record(self, name: str) -> dict | None:
        """The stored record of user ``name`` (token hash, orgs, full name), or None."""
        return self._load().get(name)

    def fullnames(self) -> dict[str, str]:
        """Every user's name and full name ("" if none was given)."""
        return {name: record.get("fullname", "") for name, record in sorted(self._load().items())}


def data_dir_secret(data_dir: Path) -> bytes:
    """The data dir's signing secret, created on first use: every process serving the dir shares it."""
    path = Path(data_dir) / SECRET_FILE
    if not path.exists():
        # Written whole under a temp name, then linked into place unless another process was
        # first: the secret is never seen half-written, nor replaced once signed URLs use it.
        staged = Path(data_dir) / "tmp" / f"{SECRET_FILE}-{secrets.token_hex(8)}"
        write_atomic(staged, secrets.token_hex(32).encode())
        try:
            os.link(staged, path)
        except FileExistsError:
            pass
        finally:
            staged.unlink(missing_ok=True)
    secret = path.read_text().strip()
    if not secret:
        raise ServerError(f"{path} is empty; delete it and restart the server")
    return secret.encode()


class UploadSigner:
    """Signs and checks the URLs LFS uploads are PUT to."""

    lifetime_s = 24 * 3600

    def __init__(self, data_dir: Path) -> None:
        self._key = data_dir_secret(data_dir)

    def _signature(self, oid: str, size: int, expires: int, user: str) -> str:
        message = f"{oid}:{size}:{expires}:{user}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def sign(self, oid: str, size: int, user: str) -> dict[str, str]:
        """Query parameters authorizing ``user`` to upload ``oid`` (``size`` bytes) once.

        The user is signed in so that the upload is recorded as theirs: only uploaders may commit an
        object that no repo they can read holds yet.
        """
        expires = int(time.time()) + self.lifetime_s
        signature = self._signature(oid, size, expires, user)
        return {"size": str(size), "expires": str(expires), "user": user, "sig": signature}

    def check(self, oid: str, size: str, expires: str, user: str, signature: str) -> bool:
        try:
            size_i, expires_i = int(size), int(expires)
        except ValueError:
            return False
        expected = self._signature(oid, size_i, expires_i, user)
        return hmac.compare_digest(expected, signature) and expires_i >= time.time()


class Sessions:
    """Browser sessions of the pages: a cookie naming the user, signed with the data dir's secret.

    The signature covers the user's current token hash, so replacing or removing the token (``hub
    users``) ends every session it opened; the cookie never holds the token itself.
    """

    lifetime_s = 7 * 24 * 3600

    def __init__(self, data_dir: Path, users: Users) -> None:
        self._key = data_dir_secret(data_dir)
        self._users = users

    def _signature(self, name: str, expires: int, token_sha256: str) -> str:
        message = f"session:{name}:{expires}:{token_sha256}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def open(self, token: str) -> tuple[Account, str] | None:
        """The account of ``token`` and a cookie value for it; None if the token is not valid."""
        account = self._users.authenticate(token) if _TOKEN_RE.match(token) else None
        if account is None:
            return None
        expires = int(time.time()) + self.lifetime_s
        signature = self._signature(account.name, expires, _token_hash(token))
        return account, f"{account.name}.{expires}.{signature}"

    def account(self, cookie: str) -> Account | None:
        """The account a cookie value stands for, if it is well-formed, unexpired and its token current."""
        rest, _, signature = cookie.rpartition(".")  # user names may hold dots; the other parts never do
        name, _, expires = rest.rpartition(".")
        record = self._users.record(name) if expires.isdigit() else None
        if record is None or int(expires) < time.time():
            return None
        expected = self._signature(name, int(expires), record["token_sha256"])
        if not hmac.compare_digest(expected, signature):
            return None
        return Account(name, tuple(record["orgs"]), record.get("fullname", ""))
