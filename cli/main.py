"""The ``celltwin`` command line. Each sub-command lives in ``cli/<name>_cmd.py`` and exposes
``register(subparsers)``; errors a user can fix print one clear line and exit 2.

The command line is the top layer: it reads the API (``serve``), the planner, the policies,
the twin and the UI's settings (``demo``); none of them imports it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from api.echo import clip
from cli import (
    calibrate_cmd,
    demo_cmd,
    import_cmd,
    llm_cmd,
    plan_cmd,
    policy_cmd,
    serve_cmd,
    twin_cmd,
)
from twin.errors import CelltwinError

#: Sub-command modules, in the order of ``celltwin --help``.
COMMANDS = (twin_cmd, calibrate_cmd, import_cmd, plan_cmd, policy_cmd, serve_cmd, demo_cmd,
            llm_cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="celltwin",
        description="Offline digital twin and capacity planner for LTE/NR networks.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CelltwinError as exc:
        print(f"celltwin: error: {clip(str(exc))}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
