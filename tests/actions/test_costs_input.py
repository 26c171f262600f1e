"""A cost catalogue nested too deeply for PyYAML's recursive composer is an input error
(exit 2 in the CLI), not a RecursionError (issue 11, item 1: every recursive parse)."""

from __future__ import annotations

import pytest

from actions.costs import load_costs
from twin.errors import InputFileError


def test_deep_cost_catalogue_is_an_input_error(tmp_path):
    p = tmp_path / "costs.yaml"
    p.write_text("set_tilt: " + "[" * 5000 + "]" * 5000, encoding="utf-8")
    with pytest.raises(InputFileError, match="too deeply"):
        load_costs(p)
