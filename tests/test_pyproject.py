"""The package metadata builds without deprecation: an SPDX license expression, and a setuptools that reads it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_license_is_an_expression_and_the_build_floor_reads_it() -> None:
    assert isinstance(PYPROJECT["project"]["license"], str)  # a table ({text = ...}) is deprecated by setuptools
    floor = next(re.fullmatch(r"setuptools>=(\d+)(?:\.\d+)*", r) for r in PYPROJECT["build-system"]["requires"]
                 if r.startswith("setuptools"))
    assert floor is not None and int(floor.group(1)) >= 77  # license expressions (PEP 639) need setuptools 77
