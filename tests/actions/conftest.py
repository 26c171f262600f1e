"""Fixtures of the actions tests: the planner tests' small hotspot case (a network with
candidate locations and the default cost catalogue)."""

from __future__ import annotations

import pytest

from tests.planner.conftest import PlanCase, build_case


@pytest.fixture(scope="session")
def case() -> PlanCase:
    return build_case()
