"""The Hub façade: the one resolver of repo@revision references, publishing, and Hub errors."""

from __future__ import annotations

import pytest

from hubrerank import hub as hub_api
from hubrerank.errors import HubError, InputError, RefError
from hubrerank.hub import check_can_publish, locate, publish, resolve
from hubrerank.refs import Ref


@pytest.mark.parametrize(
    ("text", "repo_id", "revision"),
    [
        ("org/name", "org/name", None),
        ("org/name@v1", "org/name", "v1"),
        ("name@" + "a" * 40, "name", "a" * 40),
    ],
)
def test_parse(text: str, repo_id: str, revision: str | None) -> None:
    ref = Ref.parse(text)
    assert (ref.repo_id, ref.revision) == (repo_id, revision)
    assert str(ref) == text


@pytest.mark.parametrize("text", ["", "org/../x", "/abs/path", "org/name@", "a/b/c", "org/na me"])
def test_parse_rejects_what_is_not_a_repo(text: str) -> None:
    with pytest.raises(RefError, match="not a repo reference"):
        Ref.parse(text)


def test_resolve_branch_tag_and_sha(hub, tiny_cross_encoder) -> None:
    from huggingface_hub import HfApi

    HfApi().create_tag(tiny_cross_encoder.repo_id, tag="refs-test", revision=tiny_cross_encoder.sha)
    by_branch = resolve(tiny_cross_encoder.repo_id)
    by_tag = resolve(f"{tiny_cross_encoder.repo_id}@refs-test")
    by_sha = resolve(tiny_cross_encoder.ref)
    assert by_branch.sha == by_tag.sha == by_sha.sha == tiny_cross_encoder.sha
    assert by_sha.pinned and not by_tag.pinned
    assert by_tag.as_dict() == {
        "repo": tiny_cross_encoder.repo_id,
        "revision": tiny_cross_encoder.sha,
        "requested": "refs-test",
    }


def test_resolve_errors_name_the_repo(hub, tiny_cross_encoder) -> None:
    with pytest.raises(RefError, match="alice/does-not-exist not found"):
        resolve("alice/does-not-exist")
    with pytest.raises(RefError, match="has no revision 'nope'"):
        resolve(f"{tiny_cross_encoder.repo_id}@nope")
    with pytest.raises(RefError, match="dataset repo alice/tiny-cross-encoder not found"):
        resolve("alice/tiny-cross-encoder", repo_type="dataset")


def test_resolve_errors_carry_the_repo(hub) -> None:
    with pytest.raises(RefError) as caught:
        resolve("alice/does-not-exist@v9")
    assert (caught.value.repo_id, caught.value.repo_type, caught.value.revision) == (
        "alice/does-not-exist",
        "model",
        "v9",
    )


def test_locate_a_folder_or_a_repo(hub, tiny_cross_encoder, tmp_path) -> None:
    assert locate(str(tmp_path)).path == tmp_path and locate(str(tmp_path)).sha is None
    located = locate(tiny_cross_encoder.repo_id)
    assert (located.name, located.sha, located.path) == (
        tiny_cross_encoder.repo_id,
        tiny_cross_encoder.sha,
        None,
    )
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(RefError, match="not a repo reference"):
        locate(str(tmp_path / "file.txt"), folder_only=True)


def test_an_invalid_token_is_one_line(hub, monkeypatch) -> None:
    monkeypatch.setattr(
        hub_api, "_api", lambda token=None: __import__("huggingface_hub").HfApi(token="hrk_wrong")
    )
    with pytest.raises(
        HubError, match=r"^cannot read model repo alice/x@main: HF_TOKEN is not a valid token"
    ) as caught:
        resolve("alice/x")
    assert "\n" not in str(caught.value)


def test_a_failed_publish_leaves_no_new_repo(hub) -> None:
    from huggingface_hub import HfApi

    with pytest.raises(HubError, match="publishing model repo alice/never-empty failed"):
        publish("alice/never-empty", {"ok.txt": b"ok", "a\\b.txt": b"x"}, message="refused path")
    assert not HfApi().repo_exists("alice/never-empty")
    with pytest.raises(InputError, match=r"cannot publish '\.\./escape\.txt'"):
        publish("alice/never-empty", {"../escape.txt": b"x"}, message="bad path")
    assert not HfApi().repo_exists("alice/never-empty")


def test_an_interrupted_publish_leaves_no_new_repo_and_keeps_an_old_one(hub, monkeypatch) -> None:
    from huggingface_hub import HfApi

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    existing = publish("alice/kept", {"a.txt": b"a"}, message="first")
    monkeypatch.setattr(HfApi, "create_commit", interrupted)
    for repo_id in ("alice/interrupted", "alice/kept"):
        with pytest.raises(KeyboardInterrupt):
            publish(repo_id, {"b.txt": b"b"}, message="interrupted")
    monkeypatch.undo()
    assert not HfApi().repo_exists("alice/interrupted")
    assert resolve("alice/kept").sha == existing.sha


def test_a_commit_that_lost_the_race_says_so(hub, monkeypatch) -> None:
    from huggingface_hub import HfApi

    publish("alice/raced", {"a.txt": b"a"}, message="first")
    real_info = HfApi.repo_info

    def stale_head(self, *args, **kwargs):
        info = real_info(self, *args, **kwargs)
        if kwargs.get("revision") == "main":  # publish reads the head: another writer commits now
            publish_other()
        return info

    def publish_other() -> None:
        monkeypatch.setattr(HfApi, "repo_info", real_info)
        publish("alice/raced", {"other.txt": b"o"}, message="other writer")

    monkeypatch.setattr(HfApi, "repo_info", stale_head)
    with pytest.raises(HubError, match="another commit landed on the branch first; run the command again"):
        publish("alice/raced", {"b.txt": b"b"}, message="second")


@pytest.mark.parametrize(
    ("repo_id", "message"),
    [
        ("justname", "write the repo id as ORG/NAME"),
        ("../../x", "is not a repo reference"),
        ("alice/x@main", "write the repo id as ORG/NAME"),
        ("bob/x", "the token of alice may not write to 'bob' \\(it can write to acme, alice\\)"),
    ],
)
def test_push_targets_are_checked_before_any_work(hub, repo_id, message) -> None:
    with pytest.raises((InputError, HubError), match=message):
        check_can_publish(repo_id)


def test_own_and_org_namespaces_can_be_published_to(hub) -> None:
    check_can_publish("alice/anything")
    check_can_publish("acme/anything", "dataset")


def test_upload_publishes_a_folder_in_one_commit(hub, tmp_path) -> None:
    from helpers import run_cli
    from huggingface_hub import HfApi

    folder = tmp_path / "base"
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "1_Pooling" / "config.json").write_text("{}")
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref")

    result = run_cli("upload", str(folder), "acme/uploaded-base")

    assert result.exit_code == 0, result.output
    sha = result.output.strip().removeprefix("acme/uploaded-base@")
    assert sorted(HfApi().list_repo_files("acme/uploaded-base", revision=sha)) == [
        ".gitattributes",
        "1_Pooling/config.json",
        "config.json",
    ]
    assert len(HfApi().list_repo_commits("acme/uploaded-base")) == 2


def test_upload_refuses_before_uploading(hub, tmp_path) -> None:
    from helpers import run_cli

    (tmp_path / "x.txt").write_text("x")
    refused = run_cli("upload", str(tmp_path), "bob/not-mine")
    assert refused.exit_code == 2
    assert "may not write to 'bob'" in refused.output
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "holds no files to publish" in run_cli("upload", str(empty), "alice/empty").output


def test_open_pull_request_on_someone_elses_repo(hub, monkeypatch) -> None:
    """bob, who cannot write to alice's repo, proposes a file there; resolving refs/pr/N reads it."""
    from huggingface_hub import HfApi

    publish("alice/pr-target", {"README.md": b"# target\n"}, message="start")
    monkeypatch.setattr(hub_api, "_api", lambda token=None: HfApi(token=hub.bob_token))
    opened = hub_api.open_pull_request(
        "alice/pr-target", {"notes.txt": b"from bob"}, message="A note", description="Please merge"
    )
    assert (opened.number, opened.url) == (1, f"{hub.url}/alice/pr-target/discussions/1")
    details = HfApi(token=hub.alice_token).get_discussion_details("alice/pr-target", 1)
    assert (details.author, details.status, details.events[0].content) == ("bob", "open", "Please merge")
    assert resolve(Ref("alice/pr-target", "refs/pr/1")).sha == opened.sha
