"""The Hub façade: every read and write hubrerank makes on a Hub goes through here, as ``HfApi`` is for
huggingface_hub, with one translation of Hub errors into the :class:`~hubrerank.errors.HubrerankError`
family (each carrying the repo id, type and revision it is about).

- :func:`resolve` is the one place that turns ``repo@revision`` into a commit sha; :func:`locate` the one
  place that decides whether a text names a local path or ``REPO[@REV]``. Resolve once and pass the
  :class:`~hubrerank.refs.ResolvedRef` on.
- Publishing is one commit or nothing: all files of an artifact (data or weights, README card, recipe,
  results) are sent in a single ``create_commit`` against the branch head seen before the upload, so a
  failure at any point leaves the repo as it was.
- Models are fetched at a sha with configs, tokenizer and safetensors weights only: never pickled
  weights, and never a repo's own code unless the caller trusts it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hubrerank.errors import HubError, HubrerankError, InputError, RefError
from hubrerank.record import MODEL_FILES
from hubrerank.refs import Ref, RepoType, ResolvedRef

if TYPE_CHECKING:
    from datasets import Dataset
    from huggingface_hub import DatasetLeaderboardEntry, HfApi

FileSource = Path | bytes
_PICKLED_WEIGHTS = (".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack")
_SAFETENSORS = ("model.safetensors", "model.safetensors.index.json")


@dataclass(frozen=True)
class RepoFile:
    """A file of a repo at a commit: its git blob id, and the sha256 of its content when stored in LFS."""

    path: str
    blob_id: str
    size: int
    lfs_sha256: str | None

    @property
    def content_id(self) -> str:
        """What identifies the content: the LFS sha256, else the git blob id."""
        return self.lfs_sha256 or self.blob_id


@dataclass(frozen=True)
class Located:
    """What a command-line text names: a local path, or a repo pinned to a commit."""

    text: str
    path: Path | None = None
    ref: ResolvedRef | None = None

    @property
    def name(self) -> str:
        """The dataset or model id to record: the local path as given, or the repo id."""
        return self.ref.repo_id if self.ref else self.text

    @property
    def sha(self) -> str | None:
        return self.ref.sha if self.ref else None


def resolve(ref: Ref | str, repo_type: RepoType = "model", token: str | None = None) -> ResolvedRef:
    """Resolve a reference to the commit sha it points to now, on the configured Hub."""
    if isinstance(ref, str):
        ref = Ref.parse(ref, repo_type)
    revision = ref.revision or "main"
    with hub_errors(ref.repo_id, ref.repo_type, revision):
        info = _api(token).repo_info(ref.repo_id, revision=revision, repo_type=ref.repo_type)
    return ResolvedRef(ref.repo_id, info.sha, ref.repo_type, revision)


def locate(text: str, repo_type: RepoType = "model", *, folder_only: bool = False) -> Located:
    """``text`` as a local path (a folder with ``folder_only``) when one exists, else as ``REPO[@REV]``
    resolved to its sha."""
    exists = os.path.isdir(text) if folder_only else os.path.exists(text)
    if exists:
        return Located(text, path=Path(text))
    return Located(text, ref=resolve(Ref.parse(text, repo_type)))


def resolve_model(text: str, files: Sequence[str] = ()) -> tuple[ResolvedRef | None, Path]:
    """A model given as a local folder or ``REPO[@REV]``: its pinned ref (None if local) and local folder
    (a Hub model fetched by :func:`fetch_model`: safetensors weights, no repo code, and ``files``: the
    variant files a backend runs)."""
    located = locate(text, "model", folder_only=True)
    if located.path is not None:
        return None, located.path
    assert located.ref is not None
    return located.ref, fetch_model(located.ref, files=files)


def check_can_publish(repo_id: str, repo_type: RepoType = "model") -> None:
    """Refuse, before any long work, a push target that cannot be written: a repo id without a
    namespace or that is malformed, an invalid token, or a namespace the token may not write to."""
    try:
        ref = Ref.parse(repo_id, repo_type)
    except RefError:
        raise InputError(f"--push {repo_id!r} is not a repo reference; write ORG/NAME") from None
    if "/" not in ref.repo_id or ref.revision is not None:
        raise InputError(f"--push {repo_id!r}: write the repo id as ORG/NAME (your user name or an org)")
    identity = _identity()
    namespace = ref.repo_id.split("/")[0]
    writable = {identity["name"]} | {
        org["name"] for org in identity.get("orgs", []) if org.get("roleInOrg", "write") != "read"
    }
    role = ((identity.get("auth") or {}).get("accessToken") or {}).get("role")
    if role == "read" or namespace not in writable:
        can = "nothing (a read token)" if role == "read" else ", ".join(sorted(writable))
        raise HubError(
            f"--push {repo_id}: the token of {identity['name']} may not write to {namespace!r} "
            f"(it can write to {can}); push to your own namespace or use a token that can write there",
            repo_id=ref.repo_id,
            repo_type=repo_type,
        )


def publish(
    repo_id: str,
    files: Mapping[str, FileSource],
    *,
    repo_type: RepoType = "model",
    message: str,
    private: bool | None = None,
    tag: str | None = None,
    branch: str = "main",
    delete_missing: bool = False,
) -> ResolvedRef:
    """Create ``repo_id`` if needed and write ``files`` (repo path -> local file or bytes) in one commit.

    With ``delete_missing`` the commit also removes files the previous head had and ``files`` lacks
    (except .gitattributes), so the new revision holds exactly this artifact. Returns the new commit.
    A repo this call created is deleted again when the commit fails or is interrupted, so a failed
    publish leaves no empty repo behind.
    """
    api = _api()
    with hub_errors(repo_id, repo_type, branch, f"publishing {repo_type} repo {repo_id} failed"):
        existed = api.repo_exists(repo_id, repo_type=repo_type)
        api.create_repo(repo_id, repo_type=repo_type, private=bool(private), exist_ok=True)
    try:
        return _commit(api, repo_id, files, repo_type, message, tag, branch, delete_missing)
    except BaseException:  # also Ctrl-C: a repo this call created must not stay behind empty
        if not existed:
            with suppress(Exception):
                api.delete_repo(repo_id, repo_type=repo_type)
        raise


def _commit(
    api: HfApi,
    repo_id: str,
    files: Mapping[str, FileSource],
    repo_type: RepoType,
    message: str,
    tag: str | None,
    branch: str,
    delete_missing: bool,
) -> ResolvedRef:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    with hub_errors(repo_id, repo_type, branch, f"publishing {repo_type} repo {repo_id} failed"):
        head = api.repo_info(repo_id, repo_type=repo_type, revision=branch).sha
        operations: list = []
        for path, src in sorted(files.items()):
            try:
                operations.append(
                    CommitOperationAdd(
                        path_in_repo=path, path_or_fileobj=str(src) if isinstance(src, Path) else src
                    )
                )
            except ValueError as error:
                raise InputError(
                    f"cannot publish {path!r} to {repo_type} repo {repo_id}: {first_line(error)}"
                ) from None
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
    return ResolvedRef(repo_id, sha, repo_type, branch)


@dataclass(frozen=True)
class PullRequest:
    """A pull request a publish opened: its number, page and the commit it holds."""

    repo_id: str
    number: int
    url: str
    sha: str


def open_pull_request(
    repo_id: str,
    files: Mapping[str, FileSource],
    *,
    message: str,
    description: str,
    repo_type: RepoType = "model",
) -> PullRequest:
    """Open a pull request on ``repo_id`` (anyone's repo the token may read) adding ``files`` in one commit.

    huggingface_hub's ``create_commit(create_pr=True)``, so it works on huggingface.co as on the embedded Hub.
    """
    from huggingface_hub import CommitOperationAdd

    api = _api()
    with hub_errors(repo_id, repo_type, None, f"opening a pull request on {repo_type} repo {repo_id} failed"):
        operations = [
            CommitOperationAdd(path_in_repo=path, path_or_fileobj=str(src) if isinstance(src, Path) else src)
            for path, src in sorted(files.items())
        ]
        info = api.create_commit(
            repo_id,
            operations,
            commit_message=message,
            commit_description=description,
            repo_type=repo_type,
            create_pr=True,
        )
    if info.pr_num is None or info.pr_url is None:
        raise HubError(f"the Hub opened no pull request on {repo_type} repo {repo_id}", repo_id=repo_id)
    return PullRequest(repo_id, info.pr_num, info.pr_url, info.oid)


def merge_pull_request(repo_id: str, number: int, *, repo_type: RepoType = "model") -> None:
    """Merge pull request ``number`` of ``repo_id`` (the repo's writers only, as on the Hub)."""
    with hub_errors(repo_id, repo_type, f"refs/pr/{number}", f"merging pull request #{number} failed"):
        _api().merge_pull_request(repo_id, number, repo_type=repo_type)


def open_pull_requests(repo_id: str, *, repo_type: RepoType = "model") -> list[int]:
    """The numbers of ``repo_id``'s open pull requests."""
    with hub_errors(repo_id, repo_type, None, f"cannot list the pull requests of {repo_type} repo {repo_id}"):
        found = _api().get_repo_discussions(
            repo_id, repo_type=repo_type, discussion_type="pull_request", discussion_status="open"
        )
        return [discussion.num for discussion in found]


def register_verify_key(public_key: str) -> str:
    """Register a verification key (``ed25519:...``) to the token's user; returns its id.

    The embedded Hub's ``POST /api/verify-keys`` (docs/server.md); huggingface.co has no such route and
    decides its own "verified" badges, which this says in one line.
    """
    from huggingface_hub import constants
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    url = f"{constants.ENDPOINT}/api/verify-keys"
    with hub_errors(None, "model", None, "registering the verification key failed"):
        response = get_session().post(url, headers=build_hf_headers(), json={"key": public_key})
        if response.status_code in (404, 405):
            raise HubError(
                f"the Hub at {constants.ENDPOINT} does not take verification keys (only hubrerank's embedded "
                "Hub does; huggingface.co decides its own verified badges)"
            )
        hf_raise_for_status(response)
    return str(response.json()["id"])


def publish_folder(
    folder: Path,
    repo_id: str,
    *,
    repo_type: RepoType = "model",
    message: str | None = None,
    private: bool | None = None,
    tag: str | None = None,
) -> ResolvedRef:
    """Publish every file of a local folder (a model, a dataset, anything) as one commit of ``repo_id``.

    Git metadata and caches (``.git/``, ``.cache/``) are left out. The target is checked before any
    upload (:func:`check_can_publish`), so an unwritable repo costs nothing.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder; give the folder to publish")
    files: dict[str, FileSource] = {
        path.relative_to(folder).as_posix(): path
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.relative_to(folder).parts[0] not in (".git", ".cache")
    }
    if not files:
        raise InputError(f"{folder} holds no files to publish")
    check_can_publish(repo_id, repo_type)
    return publish(
        repo_id,
        files,
        repo_type=repo_type,
        message=message or f"Upload {folder.name}",
        private=private,
        tag=tag,
    )


def download(
    ref: ResolvedRef, allow_patterns: Sequence[str] | None = None, local_dir: Path | None = None
) -> Path:
    """Download a pinned snapshot (or the files matching ``allow_patterns``) and return its folder."""
    from huggingface_hub import snapshot_download

    with hub_errors(ref.repo_id, ref.repo_type, ref.sha, f"downloading {ref} failed"):
        path = snapshot_download(
            ref.repo_id,
            repo_type=ref.repo_type,
            revision=ref.sha,
            allow_patterns=list(allow_patterns) if allow_patterns is not None else None,
            local_dir=local_dir,
        )
    return Path(path)


def list_files(ref: ResolvedRef) -> dict[str, RepoFile]:
    """Every file of the repo at the pinned commit, by path (no content is downloaded)."""
    with hub_errors(ref.repo_id, ref.repo_type, ref.sha, f"cannot list the files of {ref}"):
        entries = _api().list_repo_tree(
            ref.repo_id, revision=ref.sha, repo_type=ref.repo_type, recursive=True
        )
        return {
            entry.path: RepoFile(
                entry.path, entry.blob_id, entry.size, entry.lfs.sha256 if entry.lfs is not None else None
            )
            for entry in entries
            if hasattr(entry, "blob_id")
        }


def file_info(ref: ResolvedRef, path: str) -> RepoFile | None:
    """One file of the repo at the pinned commit, None when it has no such file."""
    with hub_errors(ref.repo_id, ref.repo_type, ref.sha, f"cannot read the file info of {ref}/{path}"):
        found = _api().get_paths_info(ref.repo_id, [path], revision=ref.sha, repo_type=ref.repo_type)
    for entry in found:
        if hasattr(entry, "blob_id"):
            return RepoFile(entry.path, entry.blob_id, entry.size, entry.lfs.sha256 if entry.lfs else None)
    return None


def read_file(ref: ResolvedRef, path: str) -> bytes | None:
    """The bytes of one file of the repo at the pinned commit, None when it has no such file."""
    from huggingface_hub import hf_hub_download

    if file_info(ref, path) is None:
        return None
    with hub_errors(ref.repo_id, ref.repo_type, ref.sha, f"cannot download {ref}/{path}"):
        local = hf_hub_download(ref.repo_id, path, repo_type=ref.repo_type, revision=ref.sha)
    return Path(local).read_bytes()


def dataset_leaderboard(dataset: str) -> list[DatasetLeaderboardEntry]:
    """The leaderboard the Hub serves for benchmark ``dataset``: every model, fine-tunes included."""
    with hub_errors(dataset, "dataset", "main", f"cannot read the leaderboard of dataset {dataset}"):
        return _api().get_dataset_leaderboard(dataset, base_model_only=False)


def fetch_model(
    ref: ResolvedRef, *, what: str = "model", trust_remote_code: bool = False, files: Sequence[str] = ()
) -> Path:
    """The model at the pinned commit: configs, tokenizer and safetensors weights only, and ``files`` (the
    variant files an onnx or openvino backend runs, e.g. ``onnx/model_O3.onnx``).

    Refuses a repo without safetensors weights (pickled weights can run code when loaded) and, unless
    ``trust_remote_code``, one that needs its own Python code; ``what`` names the model in messages
    (e.g. ``base model``).
    """
    names = [Path(path).name for path in list_files(ref)]
    if not any(name in _SAFETENSORS for name in names):
        weights = [name for name in names if name.endswith(_PICKLED_WEIGHTS)]
        found = f"it has {', '.join(weights)}" if weights else "it has no weights"
        raise InputError(
            f"{what} {ref} has no model.safetensors ({found}); hubrerank only loads safetensors "
            "weights: convert the checkpoint (transformers save_pretrained) and push it"
        )
    patterns = [*MODEL_FILES, "*.py"] if trust_remote_code else list(MODEL_FILES)
    folder = download(ref, allow_patterns=[*patterns, *files])
    reason = remote_code_reason(folder)
    if reason and not trust_remote_code:
        raise InputError(
            f"{what} {ref} needs its own Python code ({reason}); hubrerank runs no code from a repo "
            "unless you pass --trust-remote-code"
        )
    return folder


def remote_code_reason(folder: Path) -> str | None:
    """Why loading the model in ``folder`` would run code from its repo, or None."""
    from hubrerank.kinds.detect import read_json

    config = read_json(folder / "config.json")
    if isinstance(config, dict) and config.get("auto_map"):
        return "config.json has auto_map"
    modules = read_json(folder / "modules.json", default=[])
    for module in modules if isinstance(modules, list) else []:
        kind = str(module.get("type", ""))
        if kind and not kind.startswith("sentence_transformers."):
            return f"modules.json names the module class {kind}"
    return None


def card_data(ref: ResolvedRef) -> dict[str, Any]:
    """The YAML metadata of a model or dataset repo's card at the pinned commit; empty offline or when
    the repo, its card or the Hub cannot be read."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return {}
    api = _api()
    read = api.dataset_info if ref.repo_type == "dataset" else api.model_info
    try:
        with hub_errors(ref.repo_id, ref.repo_type, ref.sha):
            data = read(ref.repo_id, revision=ref.sha).card_data
    except HubrerankError:
        return {}
    return data.to_dict() if data is not None else {}


def whoami() -> str:
    """The user name the configured token belongs to."""
    return _identity()["name"]


def _identity() -> dict[str, Any]:
    """The Hub's ``whoami`` answer for the configured token: name, orgs and the token's role."""
    with hub_errors(None, "model", None, "cannot ask the Hub who the token belongs to"):
        return _api().whoami()


def load_dataset_split(dataset: str, config: str | None, split: str, revision: str | None = None) -> Dataset:
    """``datasets.load_dataset(dataset, config, split=split, revision=revision)`` for a Hub dataset id at a
    sha (or a local dataset folder, ``revision`` None), with one-line errors naming what is missing."""
    import datasets
    from datasets.exceptions import DatasetGenerationError, DatasetNotFoundError

    where = f"{dataset}@{revision[:12]}" if revision else dataset
    try:
        with hub_errors(dataset, "dataset", revision):
            if not Path(dataset).is_dir():
                return datasets.load_dataset(dataset, config, split=split, revision=revision)
            # datasets caches a local folder by its name and card alone (files and their info), so a
            # folder rebuilt in place would be read as its previous contents: read it through a fresh cache
            with tempfile.TemporaryDirectory(prefix="hubrerank-dataset-") as cache:
                return datasets.load_dataset(
                    dataset, config, split=split, cache_dir=cache, keep_in_memory=True
                )
    except DatasetGenerationError as error:  # a data file unreadable or unlike the card's features
        cause = error.__cause__ or error
        reason = " ".join(str(cause).split()) or type(cause).__name__
        raise InputError(
            f"cannot read dataset {where} (config {config or 'default'}, split {split}): "
            f"{type(cause).__name__}: {reason}; fix or rebuild that data file"
        ) from None
    except (DatasetNotFoundError, FileNotFoundError, ValueError) as error:
        raise InputError(
            f"cannot load dataset {where} (config {config or 'default'}, split {split}): {first_line(error)}"
        ) from None


def dataset_layout(dataset: str, revision: str | None = None) -> dict[str, list[str]]:
    """The configs of a dataset (Hub id at a sha, or local folder) and each config's split names."""
    import datasets

    kwargs = {"revision": revision} if revision else {}
    with hub_errors(dataset, "dataset", revision):
        configs = datasets.get_dataset_config_names(dataset, **kwargs)
        return {name: datasets.get_dataset_split_names(dataset, name, **kwargs) for name in configs}


@dataclass(frozen=True)
class SplitInfo:
    """A config/split of a Hub dataset as its metadata records it: columns and rows when recorded."""

    config: str
    split: str
    columns: tuple[str, ...] | None
    rows: int | None


_DATASET_METADATA = ("README.md", "hubrerank_dataset.json")


def dataset_splits(ref: ResolvedRef) -> list[SplitInfo]:
    """The configs and splits of a dataset at a pinned commit, from its metadata only: the README's
    ``dataset_info`` and ``configs`` and hubrerank's ``hubrerank_dataset.json`` (two small files), else the
    split names the datasets library infers from the file listing. Never reads a data file, so a
    multi-million-row dataset costs no more than a tiny one."""
    import yaml

    from hubrerank.record import read_json

    present = [name for name in _DATASET_METADATA if name in list_files(ref)]
    folder = download(ref, allow_patterns=present) if present else None
    header: dict[str, Any] = {}
    if folder is not None and (folder / "README.md").is_file():
        text = (folder / "README.md").read_text(encoding="utf-8").replace("\r\n", "\n")
        if text.startswith("---\n") and "\n---" in text[4:]:
            try:
                loaded = yaml.safe_load(text[4 : text.index("\n---", 4)])
            except yaml.YAMLError:
                loaded = None
            header = loaded if isinstance(loaded, dict) else {}
    found: dict[tuple[str, str], SplitInfo] = {}
    infos = header.get("dataset_info") or []
    for info in [infos] if isinstance(infos, dict) else infos:
        config = str(info.get("config_name", "default"))
        columns = tuple(f["name"] for f in info.get("features") or [] if isinstance(f, dict) and "name" in f)
        for split in info.get("splits") or []:
            found[config, split["name"]] = SplitInfo(
                config, split["name"], columns or None, split.get("num_examples")
            )
    for entry in header.get("configs") or []:
        files = entry.get("data_files")
        for split in (
            [f.get("split", "train") for f in files if isinstance(f, dict)] if isinstance(files, list) else []
        ):
            key = (str(entry.get("config_name", "default")), split)
            found.setdefault(key, SplitInfo(*key, None, None))
    metadata = folder / "hubrerank_dataset.json" if folder is not None else None
    built = read_json(metadata) if metadata is not None and metadata.is_file() else {}
    for config, splits in (built.get("configs") or {}).items():
        for split in splits:
            rows = (built.get("statistics") or {}).get(split, {}).get("rows")
            known = found.get((config, split))
            found[config, split] = SplitInfo(config, split, known.columns if known else None, rows)
    if not found:
        layout = dataset_layout(ref.repo_id, ref.sha)
        found = {(c, s): SplitInfo(c, s, None, None) for c, splits in layout.items() for s in splits}
    return list(found.values())


@contextmanager
def hub_errors(
    repo_id: str | None, repo_type: str, revision: str | None, failure: str | None = None
) -> Iterator[None]:
    """Translate what huggingface_hub raises inside the block into one-line HubrerankErrors.

    ``failure`` starts the message of an unexpected Hub answer (default: ``cannot read <repo>@<rev>``);
    missing repos and revisions, invalid tokens, refusals, races and unreachable Hubs have their own.
    """
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        HfHubHTTPError,
        HTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    kind = "dataset" if repo_type == "dataset" else "model"
    where = f"{kind} repo {repo_id}" if repo_id else "the Hub"
    context = {"repo_id": repo_id, "repo_type": repo_type, "revision": revision}
    try:
        yield
    except RevisionNotFoundError:
        raise RefError(
            f"{where} has no revision {revision!r}; check the branch, tag or commit sha "
            "(hubrerank hub ls lists repos on the embedded Hub)",
            **context,
        ) from None
    except RepositoryNotFoundError:
        raise RefError(
            f"{where} not found (or private and your token cannot read it); "
            "check the repo id, HF_TOKEN and --hub",
            **context,
        ) from None
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else None
        reason = {
            401: f"HF_TOKEN is not a valid token for the Hub at {constants.ENDPOINT}; check it and --hub",
            403: "your token may not write there; use your own namespace or a token that can write to it",
            412: "another commit landed on the branch first; run the command again",
        }.get(status, first_line(error))
        start = failure or f"cannot read {where}" + (f"@{revision}" if revision else "")
        raise HubError(f"{start}: {reason}", **context) from None
    except (HTTPError, OSError) as error:
        raise HubError(
            f"cannot reach the Hub for {where} ({type(error).__name__}: {first_line(error)}); "
            "check --hub / HF_ENDPOINT and the network",
            **context,
        ) from None


def first_line(error: BaseException) -> str:
    """The first line of an error's message, or its type's name when it has none."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _api(token: str | None = None) -> HfApi:
    from huggingface_hub import HfApi

    return HfApi(token=token)
