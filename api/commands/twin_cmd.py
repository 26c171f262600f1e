"""``celltwin twin``: run the twin on a scenario (or an imported network) and print its KPIs."""

from __future__ import annotations

import argparse
import json
from typing import Any

from twin.demand import check_hour
from twin.scenarios import available, load_scenario


def register(sub: Any) -> None:
    p = sub.add_parser("twin", help="run the twin on a scenario and print its KPIs",
                       description="Run the digital twin for one hour and print KPIs and the "
                       "per-cell PRB utilisation.")
    p.add_argument("--scenario", default="hotspot",
                   help=f"built-in scenario ({', '.join(available())}); default hotspot")
    p.add_argument("--hour", type=int, default=None, help="hour 0..23 (default: busy hour)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--day", action="store_true", help="also print KPIs of all 24 hours")
    p.set_defaults(func=run)


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
    sc = load_scenario(args.scenario)
    tw = sc.twin()
    state = tw.run(args.hour)
    if args.json:
        out = state.to_json(scenario=sc.name)
        out["notes"] = list(sc.notes)
        if args.day:
            out["day"] = tw.run_day().to_dict(orient="records")
        print(json.dumps(out, indent=2, default=_json_default, allow_nan=False))
        return 0
    k = state.kpis
    print(f"scenario {sc.name}: {sc.description}")
    for note in sc.notes:
        print(f"  note: {note}")
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
