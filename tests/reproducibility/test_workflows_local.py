"""The workflows `ci init` writes, run locally: each job's `run:` steps in order, in bash, on the local Hub.

GitHub's own actions (checkout, setup-python, upload-artifact) are not run: the test prepares the
checkout, puts this hubrerank on PATH instead of the Install step (which needs PyPI), and looks for the
files the upload step would keep. Expressions are only evaluated in the workflow's `env:` block, which
the test fills in as GitHub would (inputs, secrets, the tag name); the steps read nothing else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import run_cli
from huggingface_hub import HfApi
from reproduce_fixtures import write_recipe

pytestmark = pytest.mark.slow  # each runs a whole workflow: 7-14 s

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_STEPS = {"install"}  # step ids: needs PyPI; the harness provides the `hubrerank` command instead


def run_steps(workflow: Path, checkout: Path, provided: dict[str, str]) -> list[str]:
    """Run every `run:` step of ``workflow`` in order with bash (GitHub's `-eo pipefail`), emulating
    GITHUB_ENV; return the names of the steps run. Fails on the first step that fails."""
    document = yaml.safe_load(workflow.read_text())
    env = {**os.environ, **_workflow_env(document.get("env") or {}, provided)}
    bin_dir = checkout.parent / "bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "hubrerank"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m hubrerank "$@"\n')
    shim.chmod(0o755)
    env_file = checkout.parent / "github_env"
    env_file.write_text("")
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env['PATH']}",
        PYTHONPATH=str(ROOT),
        GITHUB_ENV=str(env_file),
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_REPOSITORY="acme/reranker",
        GITHUB_RUN_ID="4242",
    )
    ran = []
    for job in document["jobs"].values():
        for step in job["steps"]:
            if "run" not in step or step.get("id") in SKIPPED_STEPS:
                continue
            assert "${{" not in step["run"], f"step {step.get('name')!r} must read its inputs from env vars"
            result = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                cwd=checkout,
                env={**env, **_workflow_env(step.get("env") or {}, provided)},
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert result.returncode == 0, f"step {step['name']!r} failed:\n{result.stdout}\n{result.stderr}"
            for line in env_file.read_text().splitlines():
                key, _, value = line.partition("=")
                env[key] = value
            ran.append(step["name"])
    return ran


def _workflow_env(block: dict[str, str], provided: dict[str, str]) -> dict[str, str]:
    """The workflow's env: literal values as written, expression values from ``provided``."""
    env = {}
    for key, value in block.items():
        if "${{" in str(value):
            assert key in provided, f"the test must give {key} (an expression in the workflow: {value})"
            env[key] = provided[key]
        else:
            env[key] = str(value)
    return env


@pytest.fixture
def checkout(hub, tmp_path) -> Path:
    """A user's repository after `hubrerank ci init` for the local Hub, with a tiny recipe of its own."""
    folder = tmp_path / "repo"
    folder.mkdir()
    write_recipe(folder, "alice/tiny-cross-encoder")
    result = run_cli("ci", "init", "--dir", str(folder), "--repo", "alice/ci-model", "--hub-url", hub.url)
    assert result.exit_code == 0, result.output
    return folder


def test_release_workflow_trains_verifies_and_tags_on_the_local_hub(
    hub, tiny_cross_encoder, faq_data, checkout
):
    provided = {
        "RECIPE": "recipe.yaml",
        "REPO_ID": "alice/ci-model",
        "RELEASE_TAG": "v0.1.0",
        "HF_TOKEN": hub.alice_token,
        "HUBRERANK_SIGNING_KEY": "",  # a secret the repository does not set reads as empty on GitHub
    }

    ran = run_steps(checkout / ".github/workflows/release.yml", checkout, provided)

    assert ran == ["Train and push", "Verify the pushed commit, publish the report, tag it on PASS"]
    report = json.loads((checkout / "verify.json").read_text())
    assert report["verdict"] == "PASS"
    assert report["ci_run_url"] == "https://github.com/acme/reranker/actions/runs/4242"
    api = HfApi()
    [tag] = api.list_repo_refs("alice/ci-model").tags
    assert tag.name == "v0.1.0" and tag.target_commit == api.list_repo_commits("alice/ci-model")[0].commit_id
    assert api.list_repo_commits("alice/ci-model")[1].commit_id == report["model"]["revision"]


def test_reproduce_workflow_reproduces_the_listed_repos_on_the_local_hub(hub, trained, checkout):
    (checkout / ".github/reproduce-repos.txt").write_text(f"# released models\n{trained.ref}\n")
    provided = {"REPO_INPUT": "", "HF_TOKEN": hub.alice_token}

    ran = run_steps(checkout / ".github/workflows/reproduce.yml", checkout, provided)

    assert ran == ["Reproduce"]
    [report_path] = (checkout / "reports").glob("*.json")
    report = json.loads(report_path.read_text())
    assert report["kind"] == "reproduce" and report["verdict"] == "PASS"
    assert report["weights"]["identical"]
