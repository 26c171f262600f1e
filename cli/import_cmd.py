"""``celltwin import``: read a cell list (OpenCelliD or the project's tables) and write the
project's JSON network document."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from twin.errors import InputFileError
from twin.importers import ENB_LINK_RADIUS_M, ImportResult, load_network, write_tables
from twin.prior import default_grid
from twin.traffic_map import read_traffic, traffic_to_doc


def register(sub: Any) -> None:
    p = sub.add_parser(
        "import", help="import a cell list (OpenCelliD CSV or project tables) as a network",
        description="Read a cell list and write it as the project's JSON network document. "
        "OpenCelliD positions are crowd-sourced: sites and azimuths are estimated (eNB "
        "clusters) and the network says so in its notes.")
    p.add_argument("file", type=Path, help="OpenCelliD CSV/Parquet, a sites table (CSV/Parquet) "
                   "or a JSON network document")
    p.add_argument("--format", choices=("auto", "opencellid", "tables"), default="auto",
                   help="input format (default: guessed from the extension and columns)")
    p.add_argument("--cells", type=Path, default=None,
                   help="cells table (CSV/Parquet) when FILE is a sites table")
    p.add_argument("--candidates", type=Path, default=None,
                   help="candidate small-cell locations table (CSV/Parquet), optional")
    p.add_argument("--link-radius-m", type=float, default=ENB_LINK_RADIUS_M,
                   help=f"OpenCelliD site clustering link radius (default {ENB_LINK_RADIUS_M:g})")
    p.add_argument("--traffic", type=Path, default=None,
                   help="geolocated traffic map (samples CSV/Parquet or GeoJSON) kept in the "
                   "network document: the twin shapes the demand with it")
    p.add_argument("--out", type=Path, required=True, help="network JSON document to write")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=run)


def print_summary(res: ImportResult) -> None:
    s = res.summary()
    est = s["n_estimated_sites"]
    print(f"imported {s['source']}: {s['n_sites']} sites, {s['n_cells']} cells "
          f"(from {s['n_rows']} rows)")
    print(f"  estimated site positions: {'yes' if est else 'no'}"
          + (f" ({est} of {s['n_sites']})" if est else ""))
    for warning in s["warnings"]:  # skipped rows by reason, merged duplicates
        print(f"  warning: {warning}")
    for note in s["notes"]:
        print(f"  note: {note}")


def run(args: argparse.Namespace) -> int:
    if args.out.suffix.lower() != ".json":
        raise InputFileError(f"--out must be a .json file, got {str(args.out)!r}")
    res = load_network(args.file, args.format, args.cells, args.candidates, args.link_radius_m)
    traffic_doc = res.traffic_doc
    traffic: dict[str, Any] | None = None
    if args.traffic is not None:
        tmap = read_traffic(args.traffic, default_grid(res.network), res.network.origin)
        traffic_doc = traffic_to_doc(tmap)
        traffic = tmap.summary()
    write_tables(res.network, args.out, traffic_doc=traffic_doc)
    if args.json:
        print(json.dumps({**res.summary(), "traffic": traffic, "out": str(args.out)}, indent=2))
    else:
        print_summary(res)
        if traffic is not None:
            print(f"  traffic map {traffic['source']}: {traffic['n_points']} point samples, "
                  f"{traffic['n_areas']} areas")
            for w in traffic["warnings"]:
                print(f"  warning: {w}")
        print(f"wrote {args.out}")
    return 0
