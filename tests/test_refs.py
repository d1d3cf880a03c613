"""The one resolver of repo@revision references."""

from __future__ import annotations

import pytest

from hubrerank.errors import RefError
from hubrerank.hub import resolve
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
