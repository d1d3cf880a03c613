"""Known upstream changes name the likely cause of a failed reproduction."""

from __future__ import annotations

from hubrerank.reproducibility.upstream import changes_between, likely_causes


def test_a_change_lies_between_two_releases_in_either_order():
    forward = changes_between("sentence_transformers", "6.2.0", "6.3.0", ["training"])
    assert [change.since for change in forward] == ["6.3.0"]
    assert changes_between("sentence_transformers", "6.3.1", "6.2.0", ["training"]) == forward
    assert changes_between("sentence_transformers", "6.3.0", "6.3.1", ["training"]) == []
    assert changes_between("sentence_transformers", "6.2.0", "6.3.0", ["nothing"]) == []
    assert changes_between("sentence_transformers", "not a version", "6.3.0", ["training"]) == []


def test_likely_causes_name_the_library_both_versions_and_the_change():
    causes = likely_causes(
        {"sentence_transformers": "6.2.0", "torch": "2.13.0"},
        {"sentence_transformers": "6.3.0", "torch": "2.13.0"},
        ["training"],
    )
    assert causes == [
        "sentence_transformers 6.2.0 -> 6.3.0: from 6.3.0, the trainer, data collator, batch sampler and "
        "several losses changed"
    ]
    same = {"sentence_transformers": "6.2.0"}
    assert likely_causes(same, same, ["training"]) == []
