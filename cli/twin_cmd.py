"""``celltwin twin``: run the twin on a scenario (or an imported network) and print its KPIs."""

from __future__ import annotations

import argparse
import json
from typing import Any

from cli.network_args import add_network_arguments, scenario_from_args
from twin.demand import check_hour
from twin.scenarios import Scenario
from twin.state import json_value


def register(sub: Any) -> None:
    p = sub.add_parser("twin", help="run the twin on a scenario and print its KPIs",
                       description="Run the digital twin for one hour and print KPIs and the "
                       "per-cell PRB utilisation.")
    p.add_argument("--hour", type=int, default=None, help="hour 0..23 (default: busy hour)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--day", action="store_true", help="also print KPIs of all 24 hours")
    add_network_arguments(p)
    p.set_defaults(func=run)


def _print_calibration(sc: Scenario) -> None:
    cal = sc.calibration
    if cal is None:
        return
    s = cal.summary()
    print(f"calibration to {s['n_rows']} measured (cell, hour) rows: {s['n_matched']} matched, "
          f"MAPE {cal.mape:.1%}, max abs error {cal.max_abs_error:.3f} PRB utilisation")
    for u in cal.unmatched:
        hours = u["hours"]
        span = f"hour {hours[0]}" if len(hours) == 1 else f"{len(hours)} hours"
        print(f"  unmatched {u['cell_id']} ({span}): {u['reason']}")


def _print_traffic(sc: Scenario) -> None:
    """Where the traffic map put the traffic: the cells it placed most of."""
    if sc.traffic is None or sc.traffic_report is None:
        return
    rep = sc.traffic_report.dropna(subset=["map_share"])
    rep = rep[rep["map_share"] > 0.05].sort_values("map_mbps", ascending=False).head(5)
    print(f"traffic map {sc.traffic.source}: {sc.traffic.n_points} point samples, "
          f"{len(sc.traffic.areas)} areas; cells whose busy-hour traffic it placed most of:")
    for r in rep.itertuples(index=False):
        print(f"  {r.cell_id}: {r.map_share:.0%} of {r.offered_mbps:.1f} Mbit/s")


def _fmt_table(rows: list[dict[str, Any]], cols: list[str]) -> str:
    widths = {c: max(len(c), *(len(_fmt(r[c])) for r in rows)) for c in cols}
    lines = ["  ".join(c.rjust(widths[c]) for c in cols)]
    lines += ["  ".join(_fmt(r[c]).rjust(widths[c]) for c in cols) for r in rows]
    return "\n".join(lines)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def run(args: argparse.Namespace) -> int:
    if args.hour is not None:
        check_hour(args.hour)
    sc = scenario_from_args(args)
    tw = sc.twin()
    state = tw.run(args.hour)
    if args.json:
        out = state.to_json(scenario=sc.name)
        out["notes"] = list(sc.notes)
        if sc.calibration is not None and args.network is not None:
            out["calibration"] = {k: json_value(v) for k, v in sc.calibration.summary().items()}
        if sc.traffic is not None:
            out["traffic"] = {**sc.traffic.summary(), "map_share_by_cell": [
                {k: json_value(v) for k, v in r.items()}
                for r in sc.traffic_report.to_dict(orient="records")]}
        if args.day:
            out["day"] = tw.run_day().to_dict(orient="records")
        print(json.dumps(out, indent=2, default=_json_default, allow_nan=False))
        return 0
    k = state.kpis
    print(f"scenario {sc.name}: {sc.description}")
    for note in sc.notes:
        print(f"  note: {note}")
    if args.network is not None:
        _print_calibration(sc)
    _print_traffic(sc)
    print(f"hour {state.hour} ({'busy hour' if state.hour == sc.demand.busy_hour else 'not the busy hour'}),"
          f" {len(state.res_cell)} cells, load fixed point "
          f"{'converged' if state.converged else 'DID NOT CONVERGE'} in {state.iterations} "
          f"iterations (residual {state.residual:.1e})")
    print(f"  peak PRB utilisation  {k['peak_prb_util']:.3f}  (cell {k['busiest_cell']})")
    print(f"  mean PRB utilisation  {k['mean_prb_util']:.3f}")
    print(f"  Jain index of loads   {k['jain_index']:.3f}")
    print(f"  cells above {k['overload_threshold']:.2f}      {k['n_overloaded']}")
    print(f"  coverage              {k['coverage']:.3f}")
    print(f"  unserved traffic      {k['unserved_mbps']:.1f} Mbit/s of {k['offered_mbps']:.1f}")
    print(f"  5 %-ile user thr.     {k['p5_user_thr_mbps']:.2f} Mbit/s")
    top = state.res_cell.sort_values("prb_util", ascending=False).head(10)
    print("\nbusiest cells:")
    print(_fmt_table(top.to_dict(orient="records"),
                     ["cell_id", "prb_util", "offered_mbps", "unserved_mbps", "mean_sinr_db"]))
    if args.day:
        day = tw.run_day()
        print("\nper hour:")
        print(_fmt_table(day.to_dict(orient="records"),
                         ["hour", "peak_prb_util", "mean_prb_util", "jain_index", "n_overloaded",
                          "busiest_cell"]))
    return 0


def _json_default(v: Any) -> Any:
    import numpy as np

    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")
