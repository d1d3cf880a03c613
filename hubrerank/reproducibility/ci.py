"""``hubrerank ci init``: GitHub Actions workflows for CI-verified releases and scheduled reproductions.

The templates in ``hubrerank/ci_templates`` are the single source of the workflows: ``ci init`` renders
them into a user's repository, and hubrerank's own ``.github/workflows/{release,reproduce}.yml`` are the
same templates rendered with the project's settings (tests/reproducibility/test_ci.py checks they are
identical and names the ``ci init`` command that regenerates them). Templates use ERB-style delimiters
(``<%= value %>``) because GitHub's own ``${{ }}`` expressions would clash with Jinja's.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

import jinja2

from hubrerank import __version__
from hubrerank.errors import InputError
from hubrerank.refs import Ref

TEMPLATE_DIR = Path(__file__).resolve().parent / "ci_templates"
# repository path -> template name
WORKFLOW_FILES = {
    ".github/workflows/release.yml": "release.yml",
    ".github/workflows/reproduce.yml": "reproduce.yml",
    ".github/reproduce-repos.txt": "reproduce-repos.txt",
}
# The lock of hubrerank's own dependencies (every package, exact version and hash, CPU torch), made by
# `make lock` for the Python the workflows run on: copied as is, so a workflow installs what hubrerank's
# own CI tested, whatever the registry serves newest.
LOCK_FILES = {".github/hubrerank-lock.txt": "hubrerank-lock-py3.11.txt"}
RECIPE_TEMPLATE = "recipe.yaml"
_PLAIN = re.compile(r"^[^\s'\"$`\\]+$")


@dataclass(frozen=True)
class CiSettings:
    """What differs between repositories: how CI installs hubrerank, what a release trains and where to.

    ``repo`` is the model repo a tag push releases to (empty: only hand-started releases, which name it);
    ``hub`` a Hub URL (empty: https://huggingface.co).
    """

    install_spec: str = f"hubrerank=={__version__}"
    recipe: str = "recipe.yaml"
    repo: str = ""
    hub: str = ""

    def __post_init__(self) -> None:
        # the values are pasted into YAML strings and GitHub expressions: keep them to plain tokens
        for name, value in (("--install-spec", self.install_spec), ("--recipe", self.recipe)):
            if not value or not _PLAIN.match(value):
                raise InputError(f"{name} {value!r} must be non-empty, without spaces, quotes or '$'")
        if Path(self.recipe).is_absolute() or ".." in Path(self.recipe).parts:
            raise InputError(f"--recipe {self.recipe!r} must be a path inside the repository")
        if self.repo:
            Ref.parse(self.repo)
            if "@" in self.repo:
                raise InputError(f"--repo {self.repo!r} must be a repo id (ORG/NAME), without a revision")
        if self.hub and not (_PLAIN.match(self.hub) and self.hub.startswith(("http://", "https://"))):
            raise InputError(f"--hub {self.hub!r} must be a URL (http://... or https://...)")


@dataclass(frozen=True)
class WrittenFile:
    path: Path
    action: str  # "wrote", "overwrote" or "kept"


def render_ci_files(settings: CiSettings = CiSettings()) -> dict[str, str]:
    """The workflow files (repository path -> text) rendered for ``settings``, and the lock they install."""
    rendered = {path: _render(name, settings) for path, name in WORKFLOW_FILES.items()}
    return rendered | {path: (TEMPLATE_DIR / name).read_text() for path, name in LOCK_FILES.items()}


def recipe_template() -> str:
    """The commented recipe ``ci init`` writes for a release to train."""
    return (TEMPLATE_DIR / RECIPE_TEMPLATE).read_text()


def init_ci(directory: Path, settings: CiSettings = CiSettings(), force: bool = False) -> list[WrittenFile]:
    """Write both workflows, the repo list and a recipe template into the repository at ``directory``.

    Nothing is written when a workflow file exists, unless ``force``; an existing recipe is always kept,
    since it is the user's work, not something generated.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(f"--dir {directory} is not a folder; give the root of your repository")
    files = {directory / path: text for path, text in render_ci_files(settings).items()}
    existing = [path for path in files if path.exists()]
    if existing and not force:
        names = ", ".join(str(path.relative_to(directory)) for path in existing)
        raise InputError(f"{names} already exist in {directory}; pass --force to overwrite them")
    written = []
    for path, text in files.items():
        action = "overwrote" if path.exists() else "wrote"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(WrittenFile(path, action))
    recipe = directory / settings.recipe
    if recipe.exists():
        written.append(WrittenFile(recipe, "kept"))
    else:
        recipe.parent.mkdir(parents=True, exist_ok=True)
        recipe.write_text(recipe_template())
        written.append(WrittenFile(recipe, "wrote"))
    return written


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,
        block_start_string="<%",
        block_end_string="%>",
        variable_start_string="<%=",
        variable_end_string="%>",
        comment_start_string="<%#",
        comment_end_string="%>",
        keep_trailing_newline=True,
        autoescape=False,
    )


def _render(name: str, settings: CiSettings) -> str:
    return _environment().get_template(name).render(**asdict(settings))
