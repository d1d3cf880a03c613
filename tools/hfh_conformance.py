"""Run huggingface_hub's own Hub API tests against `hubrerank hub serve` (docs/server.md, "Conformance").

Prepares a scratch dir outside any worktree (default /tmp/hfh-conformance) from the mirror of
huggingface/huggingface_hub: its ``tests/`` and ``pyproject.toml``, with the documented adjustments
(an ``httpx`` module aliasing ``httpx2``; names the installed client no longer has replaced by None
in the tests' imports; ``USER`` and ``ENDPOINT_STAGING`` in ``testing_constants.py``;
``HUGGINGFACE_CO_STAGING=0`` in pytest-env's list), installs the pytest plugins the tests need into
the scratch dir (pytest-mock, pytest-env, pytest-asyncio, from the package index), creates the CI
users on a fresh data dir, starts ``hub serve`` and runs the selection, then prints the counts::

    .venv/bin/python tools/hfh_conformance.py                       # the documented modules
    .venv/bin/python tools/hfh_conformance.py tests/test_hf_api.py -k Discussions

Exit code: pytest's (0 when everything selected passed). The full output is in SCRATCH/last-run.log.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

MIRROR = Path("/work/.mirror/huggingface+huggingface_hub/repo")
REPO_ROOT = Path(__file__).resolve().parents[1]
MODULES = [
    "tests/test_hf_api.py",
    "tests/test_file_download.py",
    "tests/test_snapshot_download.py",
    "tests/test_repocard.py",
    "tests/test_hf_file_system.py",
    "tests/test_commit_scheduler.py",
    "tests/test_hub_mixin.py",
    "tests/test_lfs.py",
    "tests/test_copy_files.py",
    "tests/test_commit_api.py",
    "tests/test_auth.py",
    "tests/test_cache_layout.py",
    "tests/test_hub_mixin_pytorch.py",
    "tests/test_tree_cache.py",
    "tests/test_upload_pipeline.py",
]
MARKERS = "not production and not xet and not inference"
PLUGINS = ("pytest-mock", "pytest-env", "pytest-asyncio", "jedi", "parso")  # test_hub_mixin imports jedi
USER = "DUMMY_HUB_USER"  # the tests' "__DUMMY_HUB_USER__": names here start with a letter or digit


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=True, **kwargs)  # type: ignore[call-overload]


def extract(mirror: Path, scratch: Path) -> str:
    """``tests/`` and ``pyproject.toml`` of the mirror's HEAD into ``scratch``; returns the commit."""
    commit = run(["git", f"--git-dir={mirror}", "rev-parse", "HEAD"], capture_output=True, text=True)
    archive = run(
        ["git", f"--git-dir={mirror}", "archive", "HEAD", "tests", "pyproject.toml"], capture_output=True
    )
    shutil.rmtree(scratch / "tests", ignore_errors=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(scratch, filter="data")
    return commit.stdout.strip()


def _missing(module: str, names: list[str]) -> list[str]:
    """Which of ``names`` ``from module import ...`` cannot import from the installed client."""
    try:
        found = importlib.import_module(module)
    except ImportError:
        return names
    missing = []
    for name in names:
        if hasattr(found, name):
            continue
        try:
            importlib.import_module(f"{module}.{name}")
        except ImportError:
            missing.append(name)
    return missing


def replace_missing_imports(path: Path) -> list[str]:
    """Rewrite ``path``'s imports from huggingface_hub without the names it lacks (bound to None)."""
    source = path.read_text()
    lines = source.splitlines(keepends=True)
    replaced: list[str] = []
    edits = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith("huggingface_hub"):
            continue
        names = [alias.name for alias in node.names]
        missing = set(_missing(node.module or "", names))
        if not missing:
            continue
        kept = [alias for alias in node.names if alias.name not in missing]
        indent = " " * node.col_offset
        new = [f"{indent}{ast.unparse(ast.ImportFrom(node.module, kept, node.level))}\n"] if kept else []
        new += [
            f"{indent}{alias.asname or alias.name} = None\n" for alias in node.names if alias.name in missing
        ]
        edits.append((node.lineno - 1, node.end_lineno or node.lineno, new))
        replaced += [f"{node.module}.{name}" for name in sorted(missing)]
    for start, end, new in sorted(edits, reverse=True):
        lines[start:end] = new
    if edits:
        path.write_text("".join(lines))
    return replaced


def adjust(scratch: Path) -> list[str]:
    """The documented adjustments; returns the names replaced by None."""
    (scratch / "httpx.py").write_text(
        '"""huggingface_hub 2.x imports httpx2; the 1.x tests import httpx."""\n'
        "import sys\n\nimport httpx2\n\nsys.modules[__name__] = httpx2\n"
    )
    constants = scratch / "tests" / "testing_constants.py"
    text = constants.read_text()
    text = re.sub(r'^USER = ".*"$', f'USER = "{USER}"', text, flags=re.M)
    text = re.sub(
        r"^ENDPOINT_STAGING = .*$", 'ENDPOINT_STAGING = os.environ["HF_ENDPOINT"]', text, flags=re.M
    )
    constants.write_text("import os\n" + text)
    pyproject = scratch / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('"HUGGINGFACE_CO_STAGING=1"', '"HUGGINGFACE_CO_STAGING=0"')
    )
    replaced = []
    for path in sorted((scratch / "tests").rglob("*.py")):
        replaced += replace_missing_imports(path)
    return replaced


def install_plugins(scratch: Path) -> Path:
    """The pytest plugins and modules the tests import, in ``scratch/plugins`` (pytest is the venv's)."""
    target = scratch / "plugins"
    if not all(any(target.glob(f"{name.replace('-', '_')}*")) for name in PLUGINS):
        run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), *PLUGINS])
    return target


def _constants(path: Path) -> dict[str, str]:
    """The string constants of the tests' ``testing_constants.py`` (read, not imported)."""
    found = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    found[target.id] = node.value.value
    return found


def serve(scratch: Path, env: dict[str, str], source: Path) -> tuple[subprocess.Popen, str]:
    """A fresh data dir with the tests' two users, served on a free port."""
    constants = _constants(scratch / "tests" / "testing_constants.py")
    data = scratch / "data"
    shutil.rmtree(data, ignore_errors=True)
    hub = [sys.executable, "-m", "hubrerank", "hub"]
    users = [
        (USER, constants["TOKEN"], ["--org", "valid_org", "--fullname", constants["FULL_NAME"]]),
        (constants["OTHER_USER"], constants["OTHER_TOKEN"], []),
    ]
    for name, token, extra in users:
        run([*hub, "user", "add", name, *extra, "--data", str(data)], env={**env, "HUBRERANK_TOKEN": token})
    port_file = scratch / "port"
    port_file.unlink(missing_ok=True)
    log = (scratch / "server.log").open("wb")
    args = [*hub, "serve", "--data", str(data), "--port", "0", "--port-file", str(port_file), "--no-gc"]
    server = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=source)
    deadline = time.monotonic() + 60
    while not port_file.exists() or not port_file.read_text().strip():
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise SystemExit(f"hub serve did not start; see {scratch / 'server.log'}")
        time.sleep(0.1)
    return server, f"http://127.0.0.1:{int(port_file.read_text())}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="test files or node ids (default: the documented modules)")
    parser.add_argument("-k", dest="keyword", help="pytest's -k expression")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/hfh-conformance"))
    parser.add_argument("--mirror", type=Path, default=MIRROR)
    parser.add_argument(
        "--source",
        type=Path,
        default=REPO_ROOT,
        help="the hubrerank checkout to serve (to compare with another)",
    )
    options = parser.parse_args()
    scratch = options.scratch.resolve()
    if REPO_ROOT in scratch.parents or scratch == REPO_ROOT:
        raise SystemExit(f"--scratch {scratch} is inside the worktree; choose a folder outside it")
    scratch.mkdir(parents=True, exist_ok=True)
    commit = extract(options.mirror, scratch)
    plugins = install_plugins(scratch)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE"))}
    env = {**base_env, "HF_HUB_DISABLE_XET": "1", "PYTHONPATH": str(options.source.resolve())}
    replaced = adjust(scratch)
    server, url = serve(scratch, env, options.source.resolve())
    pytest_env = {
        **env,
        "HF_ENDPOINT": url,
        "HUGGINGFACE_CO_STAGING": "0",
        "HF_HOME": str(scratch / "hf-home"),
        "PYTHONPATH": os.pathsep.join([str(plugins), str(scratch)]),
    }
    args = [sys.executable, "-m", "pytest", "-m", MARKERS, "-p", "no:cacheprovider", "-q", "-rfE"]
    args += ["-o", "addopts=-Werror::FutureWarning"]  # not --strict-markers: no pytest-vcr here
    if options.keyword:
        args += ["-k", options.keyword]
    args += options.files or list(MODULES)
    print(f"huggingface_hub tests of {commit[:10]}; {len(replaced)} imports replaced by None; server {url}")
    try:
        with (scratch / "last-run.log").open("w") as log:
            result = subprocess.run(args, cwd=scratch, env=pytest_env, stdout=log, stderr=subprocess.STDOUT)
    finally:
        server.terminate()
        server.wait(30)
    output = (scratch / "last-run.log").read_text().splitlines()
    for line in output:
        if line.startswith(("FAILED ", "ERROR ")):
            print(line[:200])
    summary = [line for line in output if re.search(r"\d+ (passed|failed|error)", line)]
    print(summary[-1] if summary else f"no summary; see {scratch / 'last-run.log'}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
