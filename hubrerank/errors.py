"""The errors hubrerank raises for problems a user can fix.

Every message is one line that names the file, column, key or repo at fault and says how to fix it.
The CLI maps the whole family to exit code 2 in one place (`hubrerank.cli._errors`).
"""

from __future__ import annotations


class HubrerankError(Exception):
    """A problem with the user's input or environment; the CLI prints it and exits 2.

    Errors about a Hub repo carry its id, type and revision, so a caller can act on them without
    parsing the message.
    """

    def __init__(
        self,
        message: str,
        *,
        repo_id: str | None = None,
        repo_type: str | None = None,
        revision: str | None = None,
    ) -> None:
        super().__init__(message)
        self.repo_id, self.repo_type, self.revision = repo_id, repo_type, revision


class InputError(HubrerankError):
    """A source file, column, row or option value is missing, malformed or out of range."""


class RecipeError(HubrerankError):
    """A recipe key, loss, argument or value is invalid."""


class RefError(HubrerankError):
    """A repo or revision cannot be found or read."""


class HubError(HubrerankError):
    """The Hub refused or failed an operation (permissions, unreachable endpoint, conflict)."""


class ServerError(HubrerankError):
    """The embedded Hub server cannot start (port in use, unwritable data dir, bad --user)."""
