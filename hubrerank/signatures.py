"""The ``verifyToken`` hubrerank writes into ``.eval_results`` entries: a re-measured value, signed.

A token is a JSON Web Signature in compact form (RFC 7515), EdDSA over Ed25519 (RFC 8037):
``header.payload.signature``, each part base64url without padding. The header names the signing key
(``kid``, :func:`key_id`); the payload is a :class:`SignedResult`, the entry as the verifier measured it
(model repo and commit sha, dataset and revision, task, metric, its definition, value, tolerance, verdict,
hubrerank's version, the signer). huggingface.co's own tokens are JWTs too, so the field keeps its shape.

A signed result covers the model's files at ``model_sha``: every file of the repo but the card, the
``.gitattributes``, ``.eval_results/`` and ``reproductions/`` (:func:`is_model_file`), so a later commit
that only adds results keeps it, and one that changes the weights voids it.

Both sides read tokens here: ``hubrerank verify`` signs, the embedded Hub checks before it shows a
"verified" badge. This module imports nothing from hubrerank but ``errors``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from hubrerank.errors import InputError

PUBLIC_KEY_PREFIX = "ed25519:"
MAX_TOKEN_CHARS = 4096  # a token is ~700 characters; anything longer is not one
_HEADER = {"alg": "EdDSA", "typ": "JWT"}
_KEY_ID_RE = re.compile(r"^[0-9a-f]{16}$")
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_B64URL_RE = re.compile(r"^[A-Za-z0-9_-]*$")
NOT_MODEL_FILES = ("README.md", ".gitattributes")
NOT_MODEL_FOLDERS = (".eval_results/", "reproductions/")


PIPELINE_NOTE = "pipeline: "  # how an entry's notes state the first stage a reranker was measured on


def stated_pipeline(notes: str | None) -> str | None:
    """The pipeline an entry's notes state (``...; pipeline: <first stage>; ...``), None if none."""
    for part in (notes or "").split("; "):
        if part.startswith(PIPELINE_NOTE):
            return part.removeprefix(PIPELINE_NOTE)
    return None


class TokenError(InputError):
    """A verifyToken that is not one hubrerank can read (the message says which part is wrong)."""


def is_model_file(path: str) -> bool:
    """True for the files a signed result covers: everything but the card, results and reports."""
    return path not in NOT_MODEL_FILES and not path.startswith(NOT_MODEL_FOLDERS)


@dataclass(frozen=True)
class SignedResult:
    """What a verifyToken says: one re-measured value of a model at a commit, and who measured it.

    ``verdict`` is the outcome of comparing it with the repo's claim (PASS within ``tolerance``, FAIL
    beyond it, NEW when the repo claimed nothing for it); ``metric_definition`` names how NDCG and MAP
    were computed where a task has two definitions (hubrerank docs/metrics.md), else None. ``pipeline``
    is set when the model was measured reranking another model's results (``hubrerank pipeline``): the
    first stage at its commit and how deep it was reranked, as the entry's notes state it; tokens
    without it (a model measured alone) leave it out of the payload.
    """

    model: str
    model_sha: str
    dataset: str
    dataset_revision: str | None
    task_id: str
    metric: str
    metric_definition: str | None
    value: float
    tolerance: float
    verdict: str
    hubrerank_version: str
    signer: str
    signed_at: str
    pipeline: str | None = None

    def canonical(self) -> bytes:
        """The payload's bytes: JSON with sorted keys and no spaces, so equal results sign equal."""
        payload = asdict(self)
        if self.pipeline is None:
            del payload["pipeline"]
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()

    @classmethod
    def from_payload(cls, payload: object) -> SignedResult:
        """Read a decoded payload, checking every field's presence and type (TokenError naming it)."""
        if not isinstance(payload, dict):
            raise TokenError("verifyToken payload is not a JSON object")
        names = {f.name for f in fields(cls)}
        if not names - {"pipeline"} <= set(payload) <= names:
            odd = sorted((set(payload) - names) | (names - {"pipeline"} - set(payload)))
            raise TokenError(f"verifyToken payload has unexpected or missing fields: {', '.join(odd)}")
        optional = {"dataset_revision", "metric_definition", "pipeline"}
        for name in set(payload):
            value = payload[name]
            if name in ("value", "tolerance"):
                ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            else:
                ok = isinstance(value, str) or (value is None and name in optional)
            if not ok:
                raise TokenError(f"verifyToken payload field {name!r} has the wrong type")
        if not _SHA_RE.match(payload["model_sha"]):
            raise TokenError("verifyToken payload field 'model_sha' is not a 40-hex commit sha")
        return cls(**{**payload, "value": float(payload["value"]), "tolerance": float(payload["tolerance"])})


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64decode(text: str, part: str) -> bytes:
    if not _B64URL_RE.match(text):
        raise TokenError(f"verifyToken {part} is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TokenError(f"verifyToken {part} is not base64url") from None


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A public key as ``ed25519:<base64 of its 32 bytes>``, the form ``hubrerank keys create`` prints."""
    body = text.strip().removeprefix(PUBLIC_KEY_PREFIX)
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if not text.strip().startswith(PUBLIC_KEY_PREFIX) or len(raw) != 32:
        raise InputError(
            f"{text.strip()[:60]!r} is not a public key; "
            "give the 'ed25519:...' line that hubrerank keys create printed"
        )
    return Ed25519PublicKey.from_public_bytes(raw)


def key_id(public_text: str) -> str:
    """The key's id in tokens and on the Hub: the first 16 hex digits of the sha256 of its 32 bytes."""
    public = parse_public_key(public_text)
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key that signs results; stored as PKCS#8 PEM (a file of mode 0600)."""

    private: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, text: str, source: str) -> SigningKey:
        """Read a key from its PEM text; ``source`` names where it came from in the error."""
        try:
            key = serialization.load_pem_private_key(text.encode(), password=None)
        except (ValueError, TypeError):
            key = None
        if not isinstance(key, Ed25519PrivateKey):
            raise InputError(
                f"{source} is not an Ed25519 private key in PEM form; make one with hubrerank keys create"
            )
        return cls(key)

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(
                f"cannot read the signing key {path}: {error}; make one with hubrerank keys create"
            ) from None
        return cls.from_pem(text, str(path))

    def to_pem(self) -> str:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    @property
    def public_text(self) -> str:
        raw = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return PUBLIC_KEY_PREFIX + base64.b64encode(raw).decode()

    @property
    def key_id(self) -> str:
        return key_id(self.public_text)

    def sign(self, result: SignedResult) -> str:
        """The verifyToken of ``result``."""
        header = _b64encode(json.dumps({**_HEADER, "kid": self.key_id}, separators=(",", ":")).encode())
        signing_input = f"{header}.{_b64encode(result.canonical())}"
        return f"{signing_input}.{_b64encode(self.private.sign(signing_input.encode()))}"


@dataclass(frozen=True)
class Token:
    """A verifyToken read but not yet checked: which key it names, what it says, and its signature."""

    key_id: str
    result: SignedResult
    signing_input: bytes
    signature: bytes

    def signed_by(self, public_text: str) -> bool:
        """True if ``public_text``'s key made the signature over exactly this header and payload."""
        try:
            parse_public_key(public_text).verify(self.signature, self.signing_input)
        except (InvalidSignature, InputError):
            return False
        return True


def read_token(token: object) -> Token:
    """Parse a verifyToken (TokenError naming what is wrong); the signature is checked by ``signed_by``."""
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_CHARS:
        raise TokenError(f"verifyToken is not a string of at most {MAX_TOKEN_CHARS} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("verifyToken is not three dot-separated parts (header.payload.signature)")
    try:
        header = json.loads(_b64decode(parts[0], "header"))
        payload = json.loads(_b64decode(parts[1], "payload"))
    except (UnicodeDecodeError, ValueError):
        raise TokenError("verifyToken header or payload is not JSON") from None
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        raise TokenError("verifyToken is not signed with EdDSA (the header's alg)")
    kid = header.get("kid")
    if not isinstance(kid, str) or not _KEY_ID_RE.match(kid):
        raise TokenError("verifyToken header has no key id (kid)")
    signature = _b64decode(parts[2], "signature")
    if len(signature) != 64:
        raise TokenError("verifyToken signature is not 64 bytes")
    return Token(kid, SignedResult.from_payload(payload), f"{parts[0]}.{parts[1]}".encode(), signature)
