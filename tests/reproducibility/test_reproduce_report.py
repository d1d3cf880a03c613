"""What `hubrerank reproduce` prints and writes: library versions beside the deltas, why and how far the
weights differ. Built from a Report directly, so no training is needed."""

from __future__ import annotations

import pytest

from hubrerank.cli.reproduce import format_report
from hubrerank.refs import ResolvedRef
from hubrerank.reproducibility.claims import Claim
from hubrerank.reproducibility.reproduce import TensorDifference, WeightsComparison
from hubrerank.reproducibility.tolerances import Tolerances
from hubrerank.reproducibility.verify import Check, Report

RESULT = {"task": "nanobeir", "dataset": "sentence-transformers/NanoBEIR-en", "revision": "b" * 40}


def report(kind: str = "reproduce") -> Report:
    claim = Claim(RESULT, "NanoBEIR_R100_mean_ndcg@10", 0.4500, "README.md model-index", 4)
    return Report(
        kind,
        ResolvedRef("alice/reranker", "a" * 40),
        Tolerances(0.2, source="--tolerance"),
        checks=[Check(claim, 0.4313, 0.20005)],
        claimed_environment={"python": "3.11.7", "transformers": "4.51.3", "accelerate": "1.15.0"},
        environment={"python": "3.11.7", "transformers": "5.24.0", "device": "cpu", "world_size": 1},
    )


def test_the_library_versions_are_printed_in_the_table_beside_the_deltas() -> None:
    lines = format_report(report()).splitlines()

    assert lines[0].split() == ["metric", "claimed", "measured", "delta", "tolerance", "ok"]
    assert lines[1].split() == [
        "NanoBEIR_R100_mean_ndcg@10",
        "(card)",
        "0.4500",
        "0.4313",
        "-0.0187",
        "0.2001",
        "yes",
    ]
    assert lines[2] == ""
    assert lines[3].split() == ["library", "original", "here", "same"]
    assert lines[4].split() == ["python", "3.11.7", "3.11.7", "yes"]
    assert lines[5].split() == ["transformers", "4.51.3", "5.24.0", "NO"]
    assert lines[6].split() == ["accelerate", "1.15.0", "missing", "NO"]
    # the delta and the "same" columns line up: one table
    assert len({len(line) for line in lines[1:2] + lines[3:7]}) == 1
    assert "environment: transformers differs" in lines


def test_the_json_report_lists_every_recorded_version_against_the_installed_one() -> None:
    versions = report().as_dict()["library_versions"]

    assert versions == [
        {"name": "python", "claimed": "3.11.7", "measured": "3.11.7", "differs": False},
        {"name": "transformers", "claimed": "4.51.3", "measured": "5.24.0", "differs": True},
        {"name": "accelerate", "claimed": "1.15.0", "measured": None, "differs": True},
    ]
    assert report("verify").as_dict()["library_versions"] == []
    assert "library" not in format_report(report("verify"))


def test_differing_weights_are_explained_and_measured() -> None:
    subject = report()
    subject.weights = WeightsComparison(
        file="model.safetensors",
        published_sha256="c" * 64,
        reproduced_sha256="d" * 64,
        identical=False,
        expected_identical=False,
        why="the original run was not made by hubrerank",
        relative_l2=0.0107,
        tensors=[
            TensorDifference(name="classifier.weight", shape=[1, 32], max_abs_diff=0.0733, new=True),
            TensorDifference(
                name="bert.pooler.dense.weight", shape=[32, 32], max_abs_diff=3.87e-4, new=False
            ),
        ],
    )

    text = format_report(subject)

    assert "  why: the original run was not made by hubrerank" in text
    assert "  by how much: relative L2 distance of the state dict 0.0107" in text
    assert "  max |change| 0.0733  classifier.weight (1, 32) (new: not in the base model)" in text
    assert "  max |change| 0.000387  bert.pooler.dense.weight (32, 32)\n" in text
    assert text.endswith("PASS: 1 of 1 claimed metrics within tolerance")


def test_tensor_differences_measure_each_tensor_and_the_whole_state_dict(tmp_path) -> None:
    import torch
    from safetensors.torch import save_file

    from hubrerank.reproducibility.reproduce import tensor_differences

    for name in ("published", "reproduced", "base"):
        (tmp_path / name).mkdir()
    published = {
        "bert.w": torch.tensor([3.0, 4.0]),
        "classifier.weight": torch.zeros(2),
        "gone": torch.ones(1),
    }
    reproduced = {
        "bert.w": torch.tensor([3.0, 4.5]),
        "classifier.weight": torch.ones(2),
        "gone": torch.ones(3),
    }
    save_file(published, tmp_path / "published" / "model.safetensors")
    save_file(reproduced, tmp_path / "reproduced" / "model.safetensors")
    save_file({"w": torch.zeros(2)}, tmp_path / "base" / "model.safetensors")  # a headless base, unprefixed

    relative, tensors = tensor_differences(tmp_path / "published", tmp_path / "reproduced", tmp_path / "base")

    # |change| over the comparable tensors: (0.5, 1, 1) -> sqrt(2.25); |published| = sqrt(9 + 16 + 0)
    assert relative == pytest.approx(1.5 / 5)
    assert [(t["name"], t["max_abs_diff"], t["new"]) for t in tensors] == [
        ("classifier.weight", 1.0, True),
        ("bert.w", 0.5, False),
        ("gone", None, True),  # reshaped: not comparable
    ]


def test_why_weights_differ_names_what_hubrerank_knows() -> None:
    from hubrerank.reproducibility.reproduce import why_weights_differ

    head = why_weights_differ(True, {}, ["classifier.weight"])
    assert "not made by hubrerank" in head and "new classifier.weight from an unseeded random state" in head
    assert "data order" in why_weights_differ(True, {}, [])
    versions = why_weights_differ(False, {"torch": {"claimed": "2.1", "measured": "2.13"}}, [])
    assert versions.startswith("the environment differs (torch)")
    assert "another CPU model" in why_weights_differ(False, {}, [])
