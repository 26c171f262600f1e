"""Exports of a finished plan: CSV (one row per action), GeoJSON (new small cells as points,
changed cells as wedges after the plan) and an O-RAN A1 policy document.

**A1 document** (O-RAN A1 interface, A1-P application protocol: the Non-RT RIC creates a policy
with ``PUT /A1-P/v2/policytypes/{policyTypeId}/policies/{policyId}`` whose body is the
policy object). The plan's load-balancing actions become one policy of the standard type
``ORAN_TrafficSteeringPreference_2.0.0`` (O-RAN A1TD, traffic steering preference):

* ``scope.sliceId``: the slice the steering applies to, ``{"sst": 1, "plmnId": {"mcc", "mnc"}}``
  (eMBB on the PLMN given, by default the 3GPP test PLMN 001-01; the twin models one slice);
* ``tspResources``: two groups of cells, ``{"cellIdList": [...], "preference": "AVOID"}`` for
  cells that shed load (CIO lowered, power lowered) and ``"PREFER"`` for cells that absorb it
  (CIO raised, power raised);
* a cell id is ``{"plmnId": {...}, "cId": {"ecI": <28-bit E-UTRAN cell identity>}}`` when the
  network's id is numeric (e.g. an OpenCelliD import, ``mcc-mnc:eci`` or ``eci``); other ids
  are not valid A1 cell ids, so ``cId`` carries ``{"localId": "<id>"}`` and the document says
  so in ``notes``.

A1 policies state goals, not configuration: the exact values (CIO in dB, power in dBm) go
beside the policy in ``x_celltwin.parameter_changes`` for the O1/E2 side that applies them.
Tilt, azimuth, MIMO, sector splits and new small cells are not A1 matters: they are listed
under ``x_celltwin.not_in_a1``.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from actions.apply import apply_actions
from api.geojson import cell_features, collection, coords, frame_of, map_origin
from api.planning import parse_edited
from planner.plan import clean
from planner.result import PlanResult
from twin.network import Network

A1_POLICY_TYPE = "ORAN_TrafficSteeringPreference_2.0.0"
DEFAULT_PLMN = {"mcc": "001", "mnc": "01"}
STEERING_KINDS = ("set_cio", "set_power")

CSV_COLUMNS = ("plan_id", "index", "kind", "target", "cell_id", "candidate_id",
               "elec_tilt_deg", "azimuth_deg", "tx_power_dbm", "cio_db", "mimo_layers",
               "cost_eur", "capex_eur", "opex_eur_per_year", "description", "rationale",
               "site_id", "parameter", "from_value", "to_value", "generated_site",
               "peak_alone", "cell_util_before", "cell_util_alone", "peak_without",
               "peak_with", "contribution", "plan_status", "approved", "policy_version",
               "site_lat_deg", "site_lon_deg", "site_x_m", "site_y_m", "frame")


def action_positions(network: Network, result: PlanResult) -> list[dict[str, Any]]:
    """Per action of the result, where it happens: its cell's site, or its candidate location,
    in the input's coordinates (WGS84 when the network has an origin; local metres always)."""
    sites = network.sites.set_index("site_id")
    cells = network.cells.set_index("cell_id")
    cands = network.candidates.set_index("candidate_id") if len(network.candidates) else None
    frame = frame_of(network)
    out = []
    for row in result.actions:
        a = row.to_json()
        pos: Any = None
        cell = a.get("cell_id")
        if cell is not None and cell in cells.index:
            pos = sites.loc[cells.loc[cell, "site_id"]]
        elif a.get("candidate_id") is not None and cands is not None and a["candidate_id"] in \
                cands.index:
            pos = cands.loc[a["candidate_id"]]
        if pos is None:
            out.append({"frame": frame})
            continue
        row = {"site_x_m": round(float(pos["x_m"]), 2), "site_y_m": round(float(pos["y_m"]), 2),
               "frame": frame}
        if network.origin is not None:
            row["site_lat_deg"] = round(float(pos["lat_deg"]), 7)
            row["site_lon_deg"] = round(float(pos["lon_deg"]), 7)
        out.append(row)
    return out


def plan_csv(plan_id: str, result: PlanResult, mark: dict[str, Any] | None = None,
             network: Network | None = None) -> str:
    """One row per action (CSV_COLUMNS); empty fields where a column does not apply. ``mark``
    (the plan's standing, routes/exports.py) fills the last three columns of every row."""
    m = mark or {}
    status = {"plan_status": m.get("status", ""),
              "approved": str(m["approved"]).lower() if "approved" in m else "",
              "policy_version": "default" if m and m.get("policy_version") is None
              else m.get("policy_version", "")}
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    where = action_positions(network, result) if network is not None else []
    for i, a in enumerate(row.to_json() for row in result.actions):
        detail = a.get("cost_detail") or {}
        targets = a.get("targets") or []
        w.writerow({**{k: a.get(k, "") for k in CSV_COLUMNS}, "plan_id": plan_id, "index": i,
                    "target": ";".join(str(t) for t in targets), "cost_eur": a.get("cost", ""),
                    "capex_eur": detail.get("capex_eur", ""),
                    "opex_eur_per_year": detail.get("opex_eur_per_year", ""),
                    **_work_order_cells(a.get("work_order") or {}), **status,
                    **(where[i] if i < len(where) else {})})
    return buf.getvalue()


def _work_order_cells(wo: dict[str, Any]) -> dict[str, Any]:
    """The CSV columns of an action's work order (planner.work_order); empty without one."""
    if not wo:
        return {}
    alone, part = wo.get("effect_alone") or {}, wo.get("contribution") or {}
    to = wo.get("to")
    return {"site_id": wo.get("site_id"), "cell_id": wo.get("cell_id"),
            "parameter": wo.get("parameter"), "from_value": wo.get("from"),
            "to_value": ";".join(f"{k}={v}" for k, v in to.items()) if isinstance(to, dict)
            else to, "generated_site": wo.get("generated"),
            "peak_alone": alone.get("peak_after"),
            "cell_util_before": alone.get("cell_util_before"),
            "cell_util_alone": alone.get("cell_util_after"),
            "peak_without": part.get("peak_without"), "peak_with": part.get("peak_with"),
            "contribution": part.get("peak_delta")}


def plan_geojson(network: Network, plan_id: str, result: PlanResult,
                 mark: dict[str, Any] | None = None) -> dict[str, Any]:
    """New small cells (points, plus their omni footprint) and changed cells (wedges as they
    are after the plan), with the actions and the utilisation before/after per cell; ``mark``
    (the plan's standing) goes into the collection's properties."""
    actions = parse_edited([a.to_json() for a in result.actions])
    after = apply_actions(network, actions)
    origin, _ = map_origin(network)
    before_u = {r.cell_id: r.prb_util for r in result.cells_before}
    after_u = {r.cell_id: r.prb_util for r in result.cells_after}
    by_cell: dict[str, list[dict[str, Any]]] = {}
    new_cells: set[str] = set()
    for a in actions:
        row = {k: v for k, v in a.model_dump().items() if k != "rationale"}
        if a.kind == "add_small_cell":  # type: ignore[attr-defined]
            cid = a.new_cell_id()  # type: ignore[attr-defined]
            new_cells.add(cid)
            by_cell.setdefault(cid, []).append(row)
        elif a.kind == "split_sector":  # type: ignore[attr-defined]
            for half in (f"{a.cell_id}a", f"{a.cell_id}b"):  # type: ignore[attr-defined]
                by_cell.setdefault(half, []).append(row)
        else:
            by_cell.setdefault(a.cell_id, []).append(row)  # type: ignore[attr-defined]
    extra = {cid: {"actions": rows, "new": cid in new_cells,
                   "prb_util_before": before_u.get(cid), "prb_util_after": after_u.get(cid)}
             for cid, rows in by_cell.items()}
    feats = cell_features(after, origin, None, set(by_cell), extra)
    cells = after.cells_with_sites().set_index("cell_id")
    points = coords(origin, cells.loc[sorted(new_cells), "x_m"].to_numpy(float),
                    cells.loc[sorted(new_cells), "y_m"].to_numpy(float)) if new_cells else []
    for cid, xy in zip(sorted(new_cells), points, strict=True):
        feats.append({"type": "Feature", "id": f"small_cell:{cid}",
                      "geometry": {"type": "Point", "coordinates": xy},
                      "properties": clean({"feature_type": "small_cell", "cell_id": cid,
                                           "site_id": cells.loc[cid, "site_id"],
                                           "actions": by_cell[cid],
                                           "prb_util_after": after_u.get(cid)})})
    return collection(feats, network, plan_id=plan_id, total_cost=result.total_cost,
                      peak_before=result.peak_before, peak_after=result.peak_after,
                      **(mark or {}))


_ECI = re.compile(r"^(?:(\d{3})-(\d{2,3}):)?(\d{1,9})$")


def a1_cell_id(cell_id: str, plmn: dict[str, str]) -> tuple[dict[str, Any], bool]:
    """An A1 CellId for a network cell id, and whether it is a standard one (numeric ECI)."""
    m = _ECI.match(cell_id)
    if m and int(m.group(3)) < 2**28:
        p = {"mcc": m.group(1), "mnc": m.group(2)} if m.group(1) else dict(plmn)
        return {"plmnId": p, "cId": {"ecI": int(m.group(3))}}, True
    return {"plmnId": dict(plmn), "cId": {"localId": cell_id}}, False


def plan_a1(network: Network, plan_id: str, result: PlanResult,
            plmn: dict[str, str] | None = None, mark: dict[str, Any] | None = None
            ) -> dict[str, Any]:
    """The A1 policy document of the plan's load-balancing actions (see module docstring);
    ``mark`` (the plan's standing and approvals) goes into ``x_celltwin``."""
    plmn = plmn or DEFAULT_PLMN
    base = {r["cell_id"]: r for r in network.cells.to_dict(orient="records")}
    avoid: list[str] = []
    prefer: list[str] = []
    changes: list[dict[str, Any]] = []
    other: list[dict[str, Any]] = []
    for a in (row.to_json() for row in result.actions):
        kind, cell = a.get("kind"), a.get("cell_id")
        if kind not in STEERING_KINDS or cell not in base:
            other.append({"kind": kind, "target": (a.get("targets") or [None])[0],
                          "description": a.get("description")})
            continue
        col = "cio_db" if kind == "set_cio" else "tx_power_dbm"
        old, new = float(base[cell][col]), float(a[col])
        (prefer if new > old else avoid).append(cell)
        changes.append({"cell_id": cell, "parameter": col, "from": old, "to": new,
                        "action": kind})
    nonstandard = False
    groups = []
    for pref, cells in (("AVOID", avoid), ("PREFER", prefer)):
        if not cells:
            continue
        ids = []
        for c in cells:
            cid, ok = a1_cell_id(c, plmn)
            nonstandard |= not ok
            ids.append(cid)
        groups.append({"cellIdList": ids, "preference": pref})
    policies = []
    if groups:
        policies.append({"policy_id": f"celltwin-{plan_id}-ts",
                         "policy_type_id": A1_POLICY_TYPE,
                         "policy_object": {"scope": {"sliceId": {"sst": 1, "plmnId": plmn}},
                                           "tspResources": groups}})
    notes = ["A1 policies state goals; apply the exact parameter values in "
             "x_celltwin.parameter_changes through O1/E2 configuration management"]
    if not policies:
        notes.append("the plan has no load-balancing actions (set_cio, set_power): no A1 "
                      "policy")
    if nonstandard:
        notes.append("some cell ids are not numeric E-UTRAN cell identities: their cId "
                     "carries 'localId' (not a standard A1 field); map them to ECIs first")
    return clean({"format": "celltwin-a1", "a1_interface": "A1-P v2 (O-RAN A1AP)",
                  "policy_type_id": A1_POLICY_TYPE, "policies": policies,
                  "x_celltwin": {"plan_id": plan_id, "network": network.name, **(mark or {}),
                                 "parameter_changes": changes, "not_in_a1": other,
                                 "positions": action_positions(network, result)},
                  "notes": notes})
