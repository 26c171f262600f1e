"""A plan report a manager can read: one self-contained, printable HTML page.

Order (the verdict first): target met or not, policy passed or denied and by which rules,
approved or not; then cost, the before/after maps (inline SVG, cells drawn as wedges
coloured by PRB utilisation on **one** fixed colour scale for both maps), the KPI table, the
work order (from -> to values, effect alone, contribution), the options considered and why
they were not chosen (optimiser rounds, actions dropped after verification, the budget
frontier, candidates the policy denied), and the provenance (solver, what-ifs, model, policy,
timings).

No scripts, no external fonts, images or style sheets: the file opens offline and prints
(``@media print`` keeps tables and maps whole on a page). Built from the plan JSON
(``celltwin plan --json`` / ``GET /plans/{id}``) and the network the plan was made on.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pydantic

from actions.apply import apply_actions
from api.geojson import wedge_xy
from api.planning import parse_edited
from planner.generated_sites import network_for_result
from twin.errors import CelltwinError
from twin.network import Network
from twin.prior import site_spacing_m

#: The colour scale of both maps: PRB utilisation 0 .. UTIL_MAX (values above are clipped).
UTIL_MAX = 1.0
#: (utilisation, RGB) stops: green (idle) -> yellow -> red (overloaded).
STOPS = ((0.0, (26, 152, 80)), (0.5, (254, 224, 139)), (0.8, (244, 109, 67)),
         (1.0, (165, 0, 38)))
WEDGE_FRACTION = 0.35
MAP_PX = 420


def colour(u: float | None) -> str:
    """Hex colour of utilisation ``u`` on the report's scale (grey when unknown)."""
    if u is None or not np.isfinite(u):
        return "#bdbdbd"
    v = min(max(float(u), 0.0), UTIL_MAX) / UTIL_MAX
    for (a, ca), (b, cb) in itertools.pairwise(STOPS):
        if v <= b:
            t = 0.0 if b == a else (v - a) / (b - a)
            rgb = [round(x + (y - x) * t) for x, y in zip(ca, cb, strict=True)]
            return "#{:02x}{:02x}{:02x}".format(*rgb)
    return "#{:02x}{:02x}{:02x}".format(*STOPS[-1][1])


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def _f(v: Any, fmt: str = ".3f") -> str:
    if v is None:
        return "-"
    try:
        return format(float(v), fmt)
    except (TypeError, ValueError):
        return _e(v)


# --- maps -----------------------------------------------------------------------------------
def _bounds(nets: Sequence[Network], pad: float) -> tuple[float, float, float, float]:
    xs = np.concatenate([n.sites["x_m"].to_numpy(float) for n in nets])
    ys = np.concatenate([n.sites["y_m"].to_numpy(float) for n in nets])
    return (float(xs.min()) - pad, float(ys.min()) - pad, float(xs.max()) + pad,
            float(ys.max()) + pad)


def map_svg(network: Network, util: dict[str, float | None], bounds: tuple[float, ...],
            radius_m: float, title: str, highlight: set[str] | None = None,
            new_cells: set[str] | None = None) -> str:
    """One map: every cell a wedge (omni cells a disc) filled with :func:`colour` of its
    utilisation; ``highlight`` cells get a black outline, ``new_cells`` a blue one."""
    x0, y0, x1, y1 = bounds
    scale = MAP_PX / max(x1 - x0, y1 - y0, 1.0)
    w, h = (x1 - x0) * scale, (y1 - y0) * scale
    cells = network.cells_with_sites()
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" '
             f'viewBox="0 0 {w:.1f} {h:.1f}" role="img" aria-label="{_e(title)}">',
             '<rect width="100%" height="100%" fill="#f7f7f7" stroke="#999"/>']
    hl, new = highlight or set(), new_cells or set()
    order = sorted(cells.to_dict(orient="records"),
                   key=lambda r: (r["cell_id"] in hl or r["cell_id"] in new))
    for rec in order:
        cid = str(rec["cell_id"])
        xs, ys = wedge_xy(float(rec["x_m"]), float(rec["y_m"]), float(rec["azimuth_deg"]),
                          float(rec["h_beamwidth_deg"]), radius_m,
                          str(rec["antenna"]) == "omni")
        pts = " ".join(f"{(x - x0) * scale:.1f},{(y1 - y) * scale:.1f}"
                       for x, y in zip(xs, ys, strict=True))
        stroke = ("#1f4e9c", 2.5) if cid in new else (("#000", 2.0) if cid in hl
                                                       else ("#555", 0.5))
        u = util.get(cid)
        parts.append(f'<polygon points="{pts}" fill="{colour(u)}" stroke="{stroke[0]}" '
                     f'stroke-width="{stroke[1]}"><title>{_e(cid)}: PRB utilisation '
                     f'{_f(u)}</title></polygon>')
    for rec in network.sites.to_dict(orient="records"):
        parts.append(f'<circle cx="{(float(rec["x_m"]) - x0) * scale:.1f}" '
                     f'cy="{(y1 - float(rec["y_m"])) * scale:.1f}" r="2" fill="#222"/>')
    parts.append("</svg>")
    return "".join(parts)


def legend_svg() -> str:
    """The shared colour scale (0 .. UTIL_MAX)."""
    n, wpx = 40, 300
    rects = "".join(f'<rect x="{i * wpx / n:.1f}" y="0" width="{wpx / n + 0.5:.1f}" '
                    f'height="14" fill="{colour(UTIL_MAX * i / (n - 1))}"/>' for i in range(n))
    ticks = "".join(f'<text x="{wpx * t / UTIL_MAX:.0f}" y="28" font-size="11" '
                    f'text-anchor="middle">{t:g}</text>' for t in (0.0, 0.25, 0.5, 0.75, 1.0))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{wpx + 20}" height="32" '
            f'viewBox="-10 0 {wpx + 20} 32">{rects}{ticks}</svg>')


def maps_html(network: Network, result: dict[str, Any]) -> str:
    """Before and after maps side by side on one scale (the after map is the network with
    the plan's actions applied)."""
    before_u = {str(r["cell_id"]): r.get("prb_util") for r in result.get("cells_before") or []}
    after_u = {str(r["cell_id"]): r.get("prb_util") for r in result.get("cells_after") or []}
    net = network_for_result(network, result)
    try:
        after_net = apply_actions(net, parse_edited(result.get("actions") or []))
    except (CelltwinError, pydantic.ValidationError) as exc:  # a stale plan: say why
        return f"<p class='warn'>after map not drawn: {_e(exc)}</p>"
    changed = {str(t) for a in result.get("actions") or [] if a.get("kind") != "add_small_cell"
               for t in a.get("targets") or []}
    changed |= {c for c in after_net.cell_ids if c[:-1] in changed}
    new = set(after_net.cell_ids) - set(net.cell_ids)
    radius = WEDGE_FRACTION * site_spacing_m(net)
    bounds = _bounds([net, after_net], radius * 1.1)
    return (
        "<div class='maps'>"
        f"<figure>{map_svg(net, before_u, bounds, radius, 'before', changed & set(net.cell_ids))}"
        "<figcaption>Before: busy-hour PRB utilisation per cell</figcaption></figure>"
        f"<figure>{map_svg(after_net, after_u, bounds, radius, 'after', changed, new)}"
        "<figcaption>After the plan (black outline: changed cells; blue: new cells)"
        "</figcaption></figure></div>"
        f"<div class='legend'>PRB utilisation, same scale on both maps (above {UTIL_MAX:g} "
        f"shown as {UTIL_MAX:g}): {legend_svg()}</div>")


# --- tables ---------------------------------------------------------------------------------
def _table(head: Sequence[str], rows: Sequence[Sequence[Any]], cls: str = "") -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table class='{cls}'><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


KPIS = (("peak_prb_util", "Peak PRB utilisation", ".3f"),
        ("mean_prb_util", "Mean PRB utilisation", ".3f"),
        ("jain_index", "Jain fairness index", ".3f"),
        ("n_overloaded", "Overloaded cells", ".0f"),
        ("p5_user_thr_mbps", "5th-percentile user throughput (Mbit/s)", ".2f"),
        ("coverage", "Coverage (share of traffic above the SINR floor)", ".3f"))


def verdict(result: dict[str, Any]) -> dict[str, Any]:
    """Target met, policy passed and the rules that deny, approved (and by whom)."""
    pol = result.get("policy") or {}
    rules = sorted({str(v.get("id") or v.get("rule_id") or "?")
                    for v in pol.get("violations") or [] if isinstance(v, dict)})
    approvals = result.get("approvals") or []
    return {"target_met": bool(result.get("target_met")), "policy_passed": pol.get("passed"),
            "denied_by": rules, "approved": bool(approvals) and pol.get("passed") is True,
            "approvals": approvals}


def _verdict_html(result: dict[str, Any]) -> str:
    v = verdict(result)
    tgt = result.get("target")
    met = (f"<span class='ok'>Target met</span>: peak {_f(result.get('peak_after'))} &le; "
           f"{_f(tgt, '.2f')}" if v["target_met"] else
           f"<span class='bad'>Target not met</span>: best verified peak "
           f"{_f(result.get('peak_after'))} &gt; target {_f(tgt, '.2f')} (from "
           f"{_f(result.get('peak_before'))})")
    if v["policy_passed"] is True:
        pol = "<span class='ok'>Policy passed</span>"
    elif v["policy_passed"] is False:
        pol = ("<span class='bad'>Policy denied</span> by " +
               ", ".join(f"<code>{_e(r)}</code>" for r in v["denied_by"]))
    else:
        pol = "<span class='warn'>Policy not checked</span>"
    if v["approved"]:
        appr = "<span class='ok'>Approved</span> by " + ", ".join(
            f"{_e(a.get('by'))} ({_e(a.get('role'))}, {_e(a.get('at'))})"
            for a in v["approvals"])
    else:
        appr = "<span class='warn'>Not approved</span>"
    return (f"<section class='verdict'><ul><li>{met}</li><li>{pol}</li><li>{appr}</li>"
            f"<li>Cost {_f(result.get('total_cost'), ',.0f')} of a budget of "
            f"{_f(result.get('budget'), ',.0f')} EUR, {len(result.get('actions') or [])} "
            f"action(s)</li></ul><p>{_e(result.get('message'))}</p></section>")


def _violations_html(result: dict[str, Any]) -> str:
    pol = result.get("policy") or {}
    rows = [[_e(v.get("id")), _e(v.get("summary") or v.get("problem")), _e(v.get("message"))]
            for v in pol.get("violations") or [] if isinstance(v, dict)]
    rows += [[_e(v.get("id")) + " (warning)", _e(v.get("summary") or v.get("problem")),
              _e(v.get("message"))] for v in pol.get("warnings") or [] if isinstance(v, dict)]
    if not rows:
        return ""
    return "<h2>Policy findings</h2>" + _table(["rule", "finding", "what the rule says"], rows)


def _kpi_html(result: dict[str, Any]) -> str:
    b, a = result.get("before") or {}, result.get("after") or {}
    rows = []
    for k, label, fmt in KPIS:
        if b.get(k) is None and a.get(k) is None:
            continue
        d = None if b.get(k) is None or a.get(k) is None else float(a[k]) - float(b[k])
        rows.append([_e(label), _f(b.get(k), fmt), _f(a.get(k), fmt),
                     "-" if d is None else format(d, "+" + fmt)])
    return "<h2>Key performance indicators (busy hour)</h2>" + _table(
        ["KPI", "before", "after", "change"], rows, "num")


def _work_order_html(result: dict[str, Any]) -> str:
    rows = []
    for i, a in enumerate(result.get("actions") or [], 1):
        wo = a.get("work_order") or {}
        alone, part = wo.get("effect_alone") or {}, wo.get("contribution") or {}
        cell = ""
        if alone.get("cell_util_after") is not None:
            cell = (f"; {_e(alone.get('cell_id'))} {_f(alone.get('cell_util_before'))} &rarr; "
                    f"{_f(alone.get('cell_util_after'))}")
        rows.append([
            str(i), _e(wo.get("site_id", "-")), _e(wo.get("cell_id", "-")),
            _e(a.get("description") or a.get("kind")) +
            (" <span class='warn'>(generated location: site to be acquired)</span>"
             if wo.get("generated") else ""),
            _e(wo.get("change", "-")), _f(a.get("cost"), ",.0f"),
            (f"peak {_f(alone.get('peak_before'))} &rarr; {_f(alone.get('peak_after'))}{cell}"
             if alone else "-"),
            _f(part.get("peak_delta"), "+.3f") if part else "-",
            _e(a.get("source", "-"))])
    if not rows:
        return "<h2>Work order</h2><p>No action.</p>"
    return ("<h2>Work order</h2>" + _table(
        ["#", "site", "cell", "action", "from → to", "cost (EUR)", "effect alone",
         "contribution in the plan (peak without − with)", "proposed by"], rows) +
        f"<p>Total {_f(result.get('total_cost'), ',.0f')} EUR. Effects are verified by the full "
        "twin: <em>alone</em> applies only that action to today's network; the contribution "
        "is the verified peak of the plan without the action minus the plan's peak.</p>")


def _options_html(result: dict[str, Any]) -> str:
    out = ["<h2>Options considered and why they were not chosen</h2>"]
    hist = result.get("history") or []
    if hist:
        target = result.get("target")
        rows = []
        for h in hist:
            why = []
            if h.get("accepted"):
                why.append("accepted")
            vp = h.get("verified_peak")
            if vp is not None and target is not None and vp > target:
                why.append(f"verified peak {_f(vp)} above the target")
            if h.get("policy_passed") is False:
                why.append("denied by " + ", ".join(
                    str(v.get("id")) for v in h.get("policy_violations") or []
                    if isinstance(v, dict)))
            if h.get("note"):
                why.append(str(h["note"]))
            rows.append([_e(h.get("iteration")), _e(len(h.get("chosen") or [])),
                         _f(h.get("cost"), ",.0f"), _f(h.get("predicted_peak")),
                         _f(vp), _e("; ".join(why) or "a later round did better")])
        out.append("<h3>Optimiser rounds</h3>" + _table(
            ["round", "actions", "cost (EUR)", "predicted peak", "verified peak", "outcome"],
            rows))
    notes = [n for n in (result.get("candidates") or {}).get("notes") or []
             if "frontier" in str(n)]
    out += [f"<p>{_e(n)}.</p>" for n in notes]
    dropped = result.get("dropped") or []
    if dropped:
        out.append("<h3>Chosen by the optimiser, dropped after verification</h3>" + _table(
            ["action", "cost (EUR)", "why"],
            [[_e(d.get("key")), _f(d.get("cost"), ",.0f"), _e(d.get("reason"))]
             for d in dropped]))
    frontier = result.get("frontier") or []
    if frontier:
        out.append("<h3>What other budgets buy (each verified by the twin)</h3>" + _table(
            ["budget (EUR)", "cost (EUR)", "verified peak", "target", "policy", "kinds"],
            [[_f(f.get("budget_eur"), ",.0f"), _f(f.get("cost_eur"), ",.0f"),
              _f(f.get("peak_prb_util")), "met" if f.get("target_met") else "missed",
              {True: "passed", False: "denied"}.get(f.get("policy_passed"), "-"),
              _e(", ".join(f"{k} x{n}" for k, n in (f.get("kinds") or {}).items()) or "none")]
             for f in frontier], "num"))
    cands = result.get("candidates") or {}
    denied = cands.get("denied_by_policy") or []
    summary = ", ".join(f"{k} {n}" for k, n in (cands.get("by_kind") or {}).items())
    out.append(f"<p>{_e(cands.get('n', 0))} candidate actions were evaluated by twin "
               f"what-ifs ({_e(summary)}); {len(denied)} were excluded by the policy before "
               "optimisation.</p>")
    gen = cands.get("generated") or []
    if gen:
        out.append("<p>Generated small-cell locations (traffic peaks of overloaded cells not "
                   "covered by a listed candidate; sites still to be acquired): " +
                   ", ".join(f"{_e(g.get('candidate_id'))} ({_e(g.get('cell'))})" for g in gen)
                   + ".</p>")
    if denied:
        out.append(_table(["candidate denied by policy", "rules"], [
            [_e(d.get("candidate")), _e(", ".join(str(v.get("rule_id") or v.get("id"))
                                                  for v in d.get("violations") or []
                                                  if isinstance(v, dict)))]
            for d in denied[:12]]) + (f"<p>... and {len(denied) - 12} more.</p>"
                                      if len(denied) > 12 else ""))
    return "".join(out)


def _provenance_html(result: dict[str, Any], extra: dict[str, Any] | None) -> str:
    lb = (result.get("lower_bound") or {}).get("peak_prb_util")
    rows = [["scenario / network", _e(result.get("scenario"))],
            ["target, horizon", f"{_f(result.get('target'), '.2f')}, {_e(result.get('horizon'))}"],
            ["solver, executor", f"{_e(result.get('solver'))}, {_e(result.get('executor'))}"],
            ["select-verify rounds, twin runs",
             f"{_e(result.get('iterations'))}, {_e(result.get('what_ifs'))}"],
            ["lower bound on the peak (LP relaxation of the model)", _f(lb)],
            ["audit model file", _e(result.get("lp_file"))]]
    llm = ((result.get("provenance") or {}).get("llm") or {}).get("model") or {}
    if llm:
        rows.append(["LLM", f"{_e(llm.get('name'))} (sha256 {_e(str(llm.get('sha256'))[:16])})"])
    for k, v in (extra or {}).items():
        rows.append([_e(k), _e(v)])
    t = result.get("timings_s") or {}
    if t:
        rows.append(["timings (s)", _e(", ".join(f"{k} {v:.2f}" for k, v in t.items()
                                                 if isinstance(v, int | float)))])
    return "<h2>Provenance</h2>" + _table(["", ""], rows, "prov")


CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:22px 0 6px;border-bottom:1px solid #ccc}
h3{font-size:14px;margin:14px 0 4px}
table{border-collapse:collapse;font-size:12px;margin:4px 0 8px;width:100%}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#eee}table.num td+td{text-align:right}
.verdict{border:2px solid #444;padding:8px 14px;background:#fafafa}
.verdict ul{margin:4px 0;padding-left:18px;font-size:15px}
.ok{color:#1a7d3a;font-weight:bold}.bad{color:#b00020;font-weight:bold}
.warn{color:#a65e00;font-weight:bold}
.maps{display:flex;gap:16px;flex-wrap:wrap}figure{margin:0}figcaption{font-size:12px}
.legend{font-size:12px;margin-top:4px}
@media print{body{margin:10mm}h2{break-after:avoid}table,figure,.verdict{break-inside:avoid}}
"""


def report_html(network: Network, result: dict[str, Any], title: str = "",
                provenance: dict[str, Any] | None = None) -> str:
    """The report of one plan (see the module docstring)."""
    name = title or f"Capacity plan for {result.get('scenario') or network.name}"
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{_e(name)}</title><style>{CSS}</style></head><body>"
            f"<h1>{_e(name)}</h1>"
            + _verdict_html(result) + _violations_html(result)
            + "<h2>Maps</h2>" + maps_html(network, result)
            + _kpi_html(result) + _work_order_html(result) + _options_html(result)
            + _provenance_html(result, provenance) + "</body></html>")
