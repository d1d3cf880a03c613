"""Raw HTTP against the embedded Hub as a browser sends it, for the page tests."""

from __future__ import annotations

import base64
import http.client
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit


@dataclass(frozen=True)
class Answer:
    """A page as the server sent it."""

    status: int
    headers: dict[str, str]
    text: str
    cookies: list[str] = field(default_factory=list)

    def links(self) -> list[str]:
        """Every href and src of the page."""
        return re.findall(r'(?:href|src)="([^"]*)"', self.text)


@dataclass(frozen=True)
class Web:
    """Raw requests to the Hub (paths sent verbatim), as a browser would send them."""

    url: str

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        parts = urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            cookies = [v for k, v in response.getheaders() if k.lower() == "set-cookie"]
            headers_ = {k.lower(): v for k, v in response.getheaders()}
            return Answer(response.status, headers_, response.read().decode("utf-8", "replace"), cookies)
        finally:
            conn.close()

    def get(self, path: str, token: str | None = None, cookie: str | None = None) -> Answer:
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if cookie:
            headers["Cookie"] = cookie
        return self.request("GET", path, headers=headers)

    def post(self, path: str, form: dict[str, str], headers: dict[str, str] | None = None) -> Answer:
        body = urlencode(form).encode()
        sent = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return self.request("POST", path, body, sent)

    def commit(self, token: str, repo_id: str, files: dict[str, bytes], repo_type: str = "model") -> None:
        """Commit ``files`` as regular files with a raw NDJSON commit (no client-side card checks)."""
        lines = [{"key": "header", "value": {"summary": "raw commit", "description": ""}}]
        lines += [
            {
                "key": "file",
                "value": {"path": p, "content": base64.b64encode(d).decode(), "encoding": "base64"},
            }
            for p, d in files.items()
        ]
        body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
        answer = self.request("POST", f"/api/{repo_type}s/{repo_id}/commit/main", body, headers)
        assert answer.status == 200, answer.text

    def login(self, token: str) -> str:
        """The session cookie (``name=value``) the login form gives for ``token``."""
        answer = self.post("/login", {"token": token, "next": "/"})
        assert answer.status == 303, answer.text
        return answer.cookies[0].split(";", 1)[0]
