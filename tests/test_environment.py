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


def test_a_missing_tool_skips_locally_but_fails_under_ci(monkeypatch):
    import pytest
    from conftest import require

    require(True, "present")  # nothing happens
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no postgres"):
        require(False, "no postgres")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no postgres.*CI=true"):
        require(False, "no postgres")


PROBE: dict = {}


def test_isolation_restores_what_a_test_changed_part_one():
    """This test changes a variable, the dataset cache and torch's thread count without
    monkeypatch; the autouse fixture ``isolated_state`` (conftest) must undo all three before the
    next test (part two, which pytest runs right after it)."""
    import os

    import torch

    from course_utils import data

    PROBE["threads"] = torch.get_num_threads()
    os.environ["COURSE_ISOLATION_PROBE"] = "left over"
    data._CACHE[("probe", "nowhere")] = "a stale dataset"
    torch.set_num_threads(1 if PROBE["threads"] != 1 else 2)


def test_isolation_restores_what_a_test_changed_part_two():
    import os

    import torch

    from course_utils import data

    assert PROBE, "part one runs first"
    assert "COURSE_ISOLATION_PROBE" not in os.environ
    assert ("probe", "nowhere") not in data._CACHE
    assert torch.get_num_threads() == PROBE["threads"]
