"""The command-line options that name the network a command works on: a built-in
``--scenario`` or an imported ``--network`` file (with its cells, candidate sites and
measurements to calibrate to), shared by ``celltwin twin`` and ``celltwin plan``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from twin.errors import ValidationError
from twin.scenarios import Scenario, available, load_scenario

DEFAULT_SCENARIO = "hotspot"


def add_network_arguments(p: Any, candidates_flag: str = "--candidates") -> None:
    """``--scenario`` and the group of ``--network`` options; ``candidates_flag`` names the
    option of the candidate-sites table (``plan`` has a ``--candidates`` of its own)."""
    p.add_argument("--scenario", default=None,
                   help=f"built-in scenario ({', '.join(available())}); default "
                   f"{DEFAULT_SCENARIO}")
    g = p.add_argument_group("imported network (instead of --scenario)")
    g.add_argument("--network", type=Path, default=None,
                   help="network file: project JSON document, sites CSV/Parquet (with --cells) "
                   "or an OpenCelliD CSV")
    g.add_argument("--format", choices=("auto", "opencellid", "tables"), default="auto",
                   help="format of --network (default: guessed)")
    g.add_argument("--cells", type=Path, default=None, help="cells table for a sites table")
    g.add_argument(candidates_flag, dest="candidate_sites", type=Path, default=None,
                   help="candidate small-cell locations table")
    g.add_argument("--measurements", type=Path, default=None,
                   help="per-cell counters (TS 28.552, CSV/Parquet) to calibrate the demand to")
    p.add_argument("--traffic", type=Path, default=None,
                   help="geolocated traffic map (samples CSV/Parquet with lat_deg/lon_deg or "
                   "x_m/y_m, weight, hour, mbps; or GeoJSON points/polygons): where the traffic "
                   "is; counters still set each cell's level")
    g.add_argument("--prior", choices=("cell-density", "uniform"), default="cell-density",
                   help="spatial shape of the default demand prior (default cell-density)")
    g.add_argument("--mbps-per-cell", type=float, default=None,
                   help="busy-hour prior traffic per cell in Mbit/s (default "
                   "twin.prior.DEFAULT_MBPS_PER_CELL)")


def imported_scenario(args: argparse.Namespace) -> Scenario:
    """The scenario of ``--network``: the file, the default prior demand, and the calibration
    to ``--measurements`` when given."""
    from twin.importers import load_network
    from twin.measurements import read_measurements
    from twin.prior import DEFAULT_MBPS_PER_CELL, scenario_from_network

    res = load_network(args.network, args.format, args.cells, args.candidate_sites)
    meas = None if args.measurements is None else read_measurements(args.measurements)
    per_cell = DEFAULT_MBPS_PER_CELL if args.mbps_per_cell is None else args.mbps_per_cell
    traffic: Any = args.traffic
    if traffic is None and res.traffic_doc is not None:
        from twin.traffic_map import traffic_from_doc

        traffic = traffic_from_doc(res.traffic_doc, str(args.network))
    return scenario_from_network(res.network, meas, args.prior, per_cell,
                                 description=f"network imported from {args.network}",
                                 traffic=traffic)


def scenario_from_args(args: argparse.Namespace, candidates_flag: str = "--candidates"
                       ) -> Scenario:
    """The built-in scenario or the imported network the options name (not both)."""
    if args.network is not None:
        if args.scenario is not None:
            raise ValidationError("arguments", "give either --scenario or --network, not both")
        return imported_scenario(args)
    for opt, value in (("--cells", args.cells), (candidates_flag, args.candidate_sites),
                       ("--measurements", args.measurements)):
        if value is not None:
            raise ValidationError("arguments", f"{opt} needs --network")
    sc = load_scenario(args.scenario or DEFAULT_SCENARIO)
    if args.traffic is not None:
        from twin.prior import scenario_with_traffic

        sc = scenario_with_traffic(sc, args.traffic)
    return sc
