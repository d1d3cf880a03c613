"""Hub access and publishing: every read and write hubrerank makes goes through here.

Publishing is one commit or nothing: all files of an artifact (data or weights, README card,
recipe, results) are sent in a single ``create_commit`` against the branch head seen before the
upload, so a failure at any point leaves the repo as it was.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from hubrerank.errors import HubError
from hubrerank.refs import Ref, ResolvedRef, resolve

FileSource = Path | bytes


def publish(
    repo_id: str,
    files: Mapping[str, FileSource],
    *,
    repo_type: str = "model",
    message: str,
    private: bool | None = None,
    tag: str | None = None,
    branch: str = "main",
    delete_missing: bool = False,
) -> ResolvedRef:
    """Create ``repo_id`` if needed and write ``files`` (repo path -> local file or bytes) in one commit.

    With ``delete_missing`` the commit also removes files the previous head had and ``files`` lacks
    (except .gitattributes), so the new revision holds exactly this artifact. Returns the new commit.
    """
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
    from huggingface_hub.errors import HTTPError

    api = HfApi()
    try:
        api.create_repo(repo_id, repo_type=repo_type, private=bool(private), exist_ok=True)
        head = api.repo_info(repo_id, repo_type=repo_type, revision=branch).sha
        operations: list = [
            CommitOperationAdd(path_in_repo=path, path_or_fileobj=str(src) if isinstance(src, Path) else src)
            for path, src in sorted(files.items())
        ]
        if delete_missing:
            existing = api.list_repo_files(repo_id, repo_type=repo_type, revision=head)
            operations += [
                CommitOperationDelete(path_in_repo=path)
                for path in existing
                if path not in files and path != ".gitattributes"
            ]
        info = api.create_commit(
            repo_id,
            operations,
            commit_message=message,
            repo_type=repo_type,
            revision=branch,
            parent_commit=head,
        )
        sha = info.oid
        if tag:
            api.create_tag(repo_id, tag=tag, revision=sha, repo_type=repo_type)
    except HTTPError as error:
        raise HubError(f"publishing {repo_type} repo {repo_id} failed: {_first_line(error)}") from None
    return ResolvedRef(repo_id, sha, repo_type, branch)


def download(
    ref: ResolvedRef, allow_patterns: list[str] | None = None, local_dir: Path | None = None
) -> Path:
    """Download a pinned snapshot (or the files matching ``allow_patterns``) and return its folder."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HTTPError

    try:
        path = snapshot_download(
            ref.repo_id,
            repo_type=ref.repo_type,
            revision=ref.sha,
            allow_patterns=allow_patterns,
            local_dir=local_dir,
        )
    except HTTPError as error:
        raise HubError(f"downloading {ref} failed: {_first_line(error)}") from None
    return Path(path)


def resolve_model(text: str) -> tuple[ResolvedRef | None, Path]:
    """A model given as a local folder or ``REPO[@REV]``: its pinned ref (None if local) and local path."""
    if os.path.isdir(text):
        return None, Path(text)
    ref = resolve(Ref.parse(text, "model"))
    return ref, download(ref)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
