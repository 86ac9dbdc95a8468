"""The project's set-up files agree with each other."""

import re
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parent.parent


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])
    env = (REPO / "environment.yml").read_text()
    pip_section = env.split("- pip:", 1)[1]
    listed = {m.group(1).strip() for m in re.finditer(r"^\s+- (?!-e )(\S.*)$", pip_section, re.M)}
    assert listed == wanted


def test_ci_calls_the_readme_test_command():
    assert "make test" in (REPO / ".ci" / "run").read_text()
    readme = (REPO / "README.md").read_text()
    assert "make test" in readme and "make run" in readme


def test_torch_is_pinned_to_the_local_build():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch==2.14.1" in deps and "torchvision==0.29.1" in deps
