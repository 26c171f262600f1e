"""Folium layers of the UI, drawn from the API's GeoJSON, and the offline assets they need.

Offline by construction: :func:`base_map` builds a map with no tiles (unless the user names
their own tile server, ``CELLTWIN_TILE_URL``) and with Leaflet's JS/CSS pointing at the copies
vendored under ``ui/static/vendor/`` (served by Streamlit at ``/app/static/``). Every map goes
through :func:`check_offline` before it is shown, which raises if any element would make the
browser fetch a script or stylesheet from elsewhere. What makes the map readable without tiles
is drawn from data the product owns: the study area, site labels, a scale bar, and for Milan
the Milano GRID squares.

Colours: PRB utilisation uses one fixed scale 0..1 (:func:`util_colour`) on every map, so the
before and after maps of the Compare page read the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import folium
import numpy as np
from branca.element import Element
from folium.plugins import HeatMap

from ui.settings import STATIC_URL

LEAFLET_VERSION = "1.9.4"
LEAFLET_HEAT_VERSION = "0.2.0"
LEAFLET_JS = f"{STATIC_URL}/vendor/leaflet-{LEAFLET_VERSION}/leaflet.js"
LEAFLET_CSS = f"{STATIC_URL}/vendor/leaflet-{LEAFLET_VERSION}/leaflet.css"
LEAFLET_HEAT_JS = f"{STATIC_URL}/vendor/leaflet.heat-{LEAFLET_HEAT_VERSION}/leaflet-heat.js"

#: Stops of the utilisation scale (fraction -> colour): green, yellow at half load, orange at
#: the overload threshold, dark red when full.
UTIL_STOPS: tuple[tuple[float, str], ...] = (
    (0.0, "#1a9850"), (0.5, "#fee08b"), (0.8, "#f46d43"), (1.0, "#a50026"))
CHANGED_COLOUR = "#2040c0"
NEW_CELL_COLOUR = "#7b2cbf"
CANDIDATE_COLOUR = "#6c757d"
MAP_BACKGROUND = "#eef1f4"
MAX_SITE_LABELS = 60


class OfflineAssetError(RuntimeError):
    """A map element would load a script or stylesheet from another host."""


def _hex(c: str) -> np.ndarray:
    return np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)


def util_colour(util: float | None) -> str:
    """Colour of a PRB utilisation (fraction) on the fixed scale; grey when unknown."""
    if util is None or not np.isfinite(util):
        return "#9e9e9e"
    u = float(np.clip(util, 0.0, 1.0))
    xs = [s for s, _ in UTIL_STOPS]
    rgb = np.array([np.interp(u, xs, [_hex(c)[k] for _, c in UTIL_STOPS]) for k in range(3)])
    return "#" + "".join(f"{round(v):02x}" for v in rgb)


def legend_html() -> str:
    """A horizontal legend of the utilisation scale (HTML for ``st.markdown``)."""
    grad = ", ".join(f"{c} {s * 100:.0f}%" for s, c in UTIL_STOPS)
    return ("<div style='font-size:0.8rem'>PRB utilisation "
            f"<span style='display:inline-block;width:220px;height:10px;vertical-align:middle;"
            f"background:linear-gradient(to right, {grad})'></span> 0 &nbsp;0.5 &nbsp;0.8 "
            "&nbsp;1.0 &nbsp;&nbsp;<span style='color:" + NEW_CELL_COLOUR + "'>&#9679;</span> "
            "new small cell &nbsp;<span style='color:" + CHANGED_COLOUR + "'>&#9644;</span> "
            "changed sector</div>")


HEAT_GRADIENT = {0.2: "#c6dbef", 0.5: "#6baed6", 0.8: "#2171b5", 1.0: "#08306b"}


def demand_legend_html(demand: dict[str, Any] | None) -> str:
    """The demand heatmap's legend in Mbit/s/km^2 (its scale ends at the densest block of the
    hour shown), HTML for ``st.markdown``; empty without a demand."""
    if not demand or not demand.get("max_density_mbps_km2"):
        return ""
    top = float(demand["max_density_mbps_km2"])
    grad = ", ".join(f"{c} {s * 100:.0f}%" for s, c in HEAT_GRADIENT.items())
    return ("<div style='font-size:0.8rem'>offered traffic at "
            f"{demand.get('hour')}:00 "
            f"<span style='display:inline-block;width:220px;height:10px;vertical-align:middle;"
            f"background:linear-gradient(to right, #ffffff 0%, {grad})'></span> 0 &nbsp;"
            f"{top / 2:,.0f} &nbsp;{top:,.0f} Mbit/s/km<sup>2</sup> (blocks of "
            f"{float(demand.get('block_m', 0)):.0f} m; total "
            f"{float(demand.get('total_mbps', 0)):,.1f} Mbit/s)</div>")


# -- the map itself -----------------------------------------------------------------------

def _use_local_assets(el: Any, js: Sequence[tuple[str, str]],
                      css: Sequence[tuple[str, str]]) -> None:
    # Instance attributes: folium's lists are class attributes shared by every map.
    el.default_js = list(js)
    el.default_css = list(css)


LOCAL_FRAME_NOTE = ("local frame: x east, y north in metres from the network's (0, 0); "
                    "not a geographic place")


def base_map(bounds: Sequence[Sequence[float]] | None, tile_url: str | None = None,
             tile_attribution: str = "own tile server", local: bool = False) -> folium.Map:
    """An empty map fitted to ``bounds`` ([[south, west], [north, east]]), with local Leaflet
    and, only when ``tile_url`` is given, that tile layer. ``local``: the positions are a
    network's local metres (``[y_m, x_m]``), drawn on a plain metric plane (Leaflet's
    ``CRS.Simple``, no tiles) with a note that says so."""
    m = folium.Map(tiles=None, control_scale=True, zoom_start=14, zoom_snap=0.25,
                   location=_centre(bounds), crs="Simple" if local else "EPSG3857",
                   min_zoom=-6 if local else 0)
    _use_local_assets(m, [("leaflet", LEAFLET_JS)], [("leaflet_css", LEAFLET_CSS)])
    if local:
        m.get_root().html.add_child(Element(
            '<div class="ct-frame" style="position:absolute;bottom:28px;left:10px;z-index:900;'
            'background:rgba(255,255,255,.85);padding:2px 6px;font:12px sans-serif">'
            f"{LOCAL_FRAME_NOTE}</div>"))
    if tile_url and not local:
        folium.TileLayer(tiles=tile_url, attr=tile_attribution, name="tiles",
                         max_zoom=20).add_to(m)
    m.get_root().header.add_child(Element(
        f"<style>.leaflet-container {{ background: {MAP_BACKGROUND}; }}"
        ".ct-label {font: 11px sans-serif; color: #333; white-space: nowrap;"
        " text-shadow: 0 0 3px #fff, 0 0 3px #fff;}</style>"))
    if bounds is not None:
        m.fit_bounds([list(bounds[0]), list(bounds[1])], padding=(10, 10))
    return m


def _centre(bounds: Sequence[Sequence[float]] | None) -> list[float]:
    if bounds is None:
        return [0.0, 0.0]
    return [(bounds[0][0] + bounds[1][0]) / 2.0, (bounds[0][1] + bounds[1][1]) / 2.0]


def check_offline(m: folium.Map) -> None:
    """Raise :class:`OfflineAssetError` if an element of ``m`` links a script or stylesheet
    that is not served by the product (a URL with a scheme or a host)."""
    bad: list[str] = []

    def walk(el: Any) -> Iterable[Any]:
        yield el
        for child in getattr(el, "_children", {}).values():
            yield from walk(child)

    for el in walk(m):
        for _name, url in list(getattr(el, "default_js", [])) + list(
                getattr(el, "default_css", [])):
            if not str(url).startswith("/") or str(url).startswith("//"):
                bad.append(f"{type(el).__name__}: {url}")
        if type(el).__name__ in ("ColorMap", "LinearColormap", "StepColormap"):
            bad.append(f"{type(el).__name__}: branca colormaps load d3 from a CDN")
    if bad:
        raise OfflineAssetError("map would load remote assets: " + "; ".join(bad))


# -- geometry helpers -----------------------------------------------------------------------

def features(doc: dict[str, Any] | None, feature_type: str) -> list[dict[str, Any]]:
    """The features of a GeoJSON collection with ``properties.feature_type == feature_type``."""
    if not doc:
        return []
    return [f for f in doc.get("features", [])
            if (f.get("properties") or {}).get("feature_type") == feature_type]


def _coords(geom: dict[str, Any]) -> list[list[float]]:
    t, c = geom.get("type"), geom.get("coordinates")
    if t == "Point":
        return [c]
    if t in ("LineString", "MultiPoint"):
        return list(c)
    if t == "Polygon":
        return [p for ring in c for p in ring]
    if t == "MultiPolygon":
        return [p for poly in c for ring in poly for p in ring]
    return []


def bounds_of(*docs: dict[str, Any] | None, margin: float = 0.05
              ) -> list[list[float]] | None:
    """[[south, west], [north, east]] of every feature in the collections, with a margin."""
    pts = [p for d in docs if d for f in d.get("features", [])
           for p in _coords(f.get("geometry") or {})]
    if not pts:
        return None
    a = np.asarray(pts, dtype=float)  # [n, 2] lon, lat
    lo, hi = a.min(axis=0), a.max(axis=0)
    pad = (hi - lo) * margin + 1e-4
    return [[float(lo[1] - pad[1]), float(lo[0] - pad[0])],
            [float(hi[1] + pad[1]), float(hi[0] + pad[0])]]


# -- layers ---------------------------------------------------------------------------------

def _tooltip(props: dict[str, Any], keys: Sequence[str]) -> str:
    parts = []
    for k in keys:
        v = props.get(k)
        if v is None:
            continue
        parts.append(f"{k}: {v:.3f}" if isinstance(v, float) else f"{k}: {v}")
    return "<br>".join(parts)


CELL_TOOLTIP = ("cell_id", "prb_util", "offered_mbps", "served_mbps", "mean_sinr_db",
                "azimuth_deg", "elec_tilt_deg", "tx_power_dbm")


def add_cells(m: folium.Map, cells: list[dict[str, Any]], changed: set[str] | None = None,
              util_key: str = "prb_util", name: str = "sectors") -> folium.FeatureGroup:
    """Sector wedges (and omni circles) filled by utilisation; ``changed`` ones outlined."""
    changed = changed or set()
    fg = folium.FeatureGroup(name=name)
    for f in cells:
        p = f.get("properties") or {}
        ring = f["geometry"]["coordinates"][0]
        is_changed = str(p.get("cell_id")) in changed
        folium.Polygon(
            [[lat, lon] for lon, lat in ring],
            color=CHANGED_COLOUR if is_changed else "#444444",
            weight=4 if is_changed else 1,
            dash_array="6 4" if is_changed else None,
            fill=True, fill_color=util_colour(p.get(util_key)), fill_opacity=0.75,
            tooltip=_tooltip(p, CELL_TOOLTIP) + ("<br><b>changed by the plan</b>"
                                                 if is_changed else ""),
        ).add_to(fg)
    fg.add_to(m)
    return fg


def add_site_labels(m: folium.Map, sites: list[dict[str, Any]],
                    max_labels: int = MAX_SITE_LABELS,
                    keep: set[str] | None = None) -> None:
    """A dot and the id of every site (the reading aid that replaces street names), up to
    ``max_labels`` sites. A city-scale network would be a box of black dots: beyond that only
    the sites in ``keep`` (the busiest and the changed ones) get a dot and a label; the wedges
    carry every other site's tooltip."""
    fg = folium.FeatureGroup(name="sites")
    everything = len(sites) <= max_labels
    for f in sites:
        p = f.get("properties") or {}
        if not everything and str(p.get("site_id")) not in (keep or set()):
            continue
        lon, lat = f["geometry"]["coordinates"]
        folium.CircleMarker([lat, lon], radius=3, color="#222", weight=1, fill=True,
                            fill_color="#222", fill_opacity=1.0,
                            tooltip=_tooltip(p, ("site_id", "name", "estimated"))).add_to(fg)
        folium.Marker([lat, lon], icon=folium.DivIcon(
            html=f"<div class='ct-label'>{p.get('site_id', '')}</div>",
            icon_size=(60, 14), icon_anchor=(-4, 16))).add_to(fg)
    fg.add_to(m)


def busiest_sites(cells: list[dict[str, Any]], n: int = MAX_SITE_LABELS // 3,
                  changed: set[str] | None = None) -> set[str]:
    """Sites of the ``n`` busiest cells and of the changed ones (the ones a planner looks
    for on a city-scale map)."""
    props = [f.get("properties") or {} for f in cells]
    ranked = sorted(props, key=lambda p: -(p.get("prb_util") or 0.0))[:n]
    out = {str(p.get("site_id")) for p in ranked}
    out |= {str(p.get("site_id")) for p in props if str(p.get("cell_id")) in (changed or set())}
    return out


def add_candidates(m: folium.Map, candidates: list[dict[str, Any]],
                   max_labels: int = MAX_SITE_LABELS) -> None:
    """Candidate small-cell locations: small hollow grey circles, labelled with their id
    (up to ``max_labels`` of them)."""
    fg = folium.FeatureGroup(name="candidate locations")
    for f in candidates:
        lon, lat = f["geometry"]["coordinates"]
        p = f.get("properties") or {}
        folium.CircleMarker([lat, lon], radius=4, color=CANDIDATE_COLOUR, weight=1.5,
                            fill=False,
                            tooltip=_tooltip(p, ("candidate_id", "name", "height_m",
                                                 "generated"))).add_to(fg)
        if len(candidates) <= max_labels:
            folium.Marker([lat, lon], icon=folium.DivIcon(
                html=f"<div class='ct-label' style='color:{CANDIDATE_COLOUR}'>"
                     f"{p.get('candidate_id', '')}</div>",
                icon_size=(60, 14), icon_anchor=(-6, 6))).add_to(fg)
    fg.add_to(m)


def add_new_cells(m: folium.Map, points: list[dict[str, Any]]) -> None:
    """New small cells of a plan: filled purple markers with their label."""
    fg = folium.FeatureGroup(name="new small cells")
    for f in points:
        lon, lat = f["geometry"]["coordinates"][:2]
        p = f.get("properties") or {}
        label = p.get("candidate_id") or p.get("cell_id") or "new"
        folium.CircleMarker([lat, lon], radius=8, color="#ffffff", weight=2, fill=True,
                            fill_color=NEW_CELL_COLOUR, fill_opacity=1.0,
                            tooltip=_tooltip(p, ("cell_id", "candidate_id", "name", "prb_util",
                                                 "cost", "description"))).add_to(fg)
        folium.Marker([lat, lon], icon=folium.DivIcon(
            html=f"<div class='ct-label' style='color:{NEW_CELL_COLOUR}'><b>{label}</b></div>",
            icon_size=(80, 14), icon_anchor=(-8, 18))).add_to(fg)
    fg.add_to(m)


def add_outline(m: folium.Map, ring_lonlat: Sequence[Sequence[float]], label: str,
                colour: str = "#555555") -> None:
    """A dashed outline (the study area, the scenario's extent)."""
    folium.Polygon([[lat, lon] for lon, lat in ring_lonlat], color=colour, weight=1.5,
                   dash_array="8 6", fill=False, tooltip=label).add_to(m)


def add_grid_squares(m: folium.Map, doc: dict[str, Any]) -> None:
    """Reference squares (e.g. the Milano GRID) as thin outlines with their ids."""
    fg = folium.FeatureGroup(name="grid squares")
    for f in doc.get("features", []):
        ring = f["geometry"]["coordinates"][0]
        p = f.get("properties") or {}
        folium.Polygon([[lat, lon] for lon, lat in ring], color="#8899aa", weight=0.6,
                       fill=False, tooltip=_tooltip(p, tuple(p)[:3])).add_to(fg)
    fg.add_to(m)


def add_heat(m: folium.Map, lat: Sequence[float], lon: Sequence[float],
             weight: Sequence[float], name: str = "demand") -> HeatMap | None:
    """Demand heatmap (leaflet.heat, vendored): weights normalised to the busiest bin."""
    w = np.asarray(weight, dtype=float)
    if w.size == 0 or not np.isfinite(w).any() or np.nanmax(w) <= 0:
        return None
    keep = np.isfinite(w) & (w > 1e-3 * np.nanmax(w))
    data = np.column_stack([np.asarray(lat, float)[keep], np.asarray(lon, float)[keep],
                            w[keep] / np.nanmax(w)])  # [n_point, 3]
    h = HeatMap(data.round(6).tolist(), name=name, min_opacity=0.25, radius=14, blur=16,
                max_zoom=16, gradient=HEAT_GRADIENT)
    _use_local_assets(h, [("leaflet-heat.js", LEAFLET_HEAT_JS)], [])
    h.add_to(m)
    return h


RADIO_LAYERS = {"none": "none", "best server": "best_server", "RSRP (dBm)": "rsrp",
                "SINR (dB)": "sinr"}


def add_raster(m: folium.Map, doc: dict[str, Any] | None) -> None:
    """A radio layer of ``GET /networks/{id}/raster`` as an image overlay (inline PNG: no
    request leaves the page), one pixel per grid bin."""
    if not doc or not doc.get("png_base64"):
        return
    name = {"best_server": "best server", "rsrp": "RSRP", "sinr": "SINR",
            "demand": "demand density"}.get(doc["layer"], doc["layer"])
    folium.raster_layers.ImageOverlay(
        image=f"data:image/png;base64,{doc['png_base64']}", bounds=doc["bounds"],
        name=f"{name} at {doc.get('hour')}:00", opacity=0.75, interactive=False,
        zindex=1).add_to(m)


def raster_legend_html(doc: dict[str, Any] | None) -> str:
    """Legend of a radio layer: its colour scale and unit, or the cells of a best-server map
    (HTML for ``st.markdown``); empty without a layer."""
    if not doc:
        return ""
    if doc["layer"] == "best_server":
        items = " ".join(f"<span style='color:{c['colour']}'>&#9632;</span> {c['cell_id']}"
                         for c in doc.get("legend") or [])
        return (f"<div style='font-size:0.8rem'>best server at {doc.get('hour')}:00 (the "
                f"cells serving most bins): {items}</div>")
    sc = doc.get("scale") or {}
    grad = ", ".join(sc.get("colours") or [])
    lo, hi = float(sc.get("min", 0)), float(sc.get("max", 1))
    label = {"rsrp": "RSRP", "sinr": "SINR", "demand": "offered traffic"}.get(doc["layer"],
                                                                             doc["layer"])
    return (f"<div style='font-size:0.8rem'>{label} at {doc.get('hour')}:00 "
            "<span style='display:inline-block;width:220px;height:10px;vertical-align:middle;"
            f"background:linear-gradient(to right, {grad})'></span> {lo:,.0f} &nbsp;"
            f"{(lo + hi) / 2:,.0f} &nbsp;{hi:,.0f} {doc['unit']} (grid bins of "
            f"{float(doc.get('bin_m', 0)):.0f} m)</div>")


def layer_control(m: folium.Map) -> None:
    folium.LayerControl(collapsed=True).add_to(m)


# -- composition ------------------------------------------------------------------------------

def network_map(geo: dict[str, Any], demand: dict[str, Any] | None = None,
                tile_url: str | None = None, tile_attribution: str = "own tile server",
                changed: set[str] | None = None, new_cells: list[dict[str, Any]] | None = None,
                heat: bool = True, candidates: bool = True,
                bounds: list[list[float]] | None = None,
                radio: dict[str, Any] | None = None) -> folium.Map:
    """The map of a network state: study area, (Milan) grid squares, demand heat, sector
    wedges by utilisation, site labels, candidate locations, and a plan's changes.

    ``geo``: the API's state GeoJSON; ``demand``: the body of ``/networks/{id}/demand``;
    ``bounds``: force the view (the Compare page gives both maps the same one);
    ``radio``: a radio layer of ``/networks/{id}/raster`` drawn under the wedges.
    """
    area = (demand or {}).get("area")
    # fitted to the network (the study area adds the demand grid's margin around it)
    local = (geo.get("properties") or {}).get("frame") == "local_m"
    m = base_map(bounds or bounds_of(geo), tile_url, tile_attribution, local=local)
    if demand and demand.get("grid_squares"):
        add_grid_squares(m, demand["grid_squares"])
    add_raster(m, radio)
    if area:
        add_outline(m, area["coordinates"][0], "study area (the twin's demand grid)")
    if demand and heat:
        add_heat(m, demand["lat"], demand["lon"], demand["offered_mbps"],
                 name=f"demand at {demand.get('hour')}:00")
    add_cells(m, features(geo, "cell"), changed)
    if candidates:
        add_candidates(m, features(geo, "candidate"))
    add_site_labels(m, features(geo, "site"),
                    keep=busiest_sites(features(geo, "cell"), changed=changed))
    if new_cells:
        add_new_cells(m, new_cells)
    layer_control(m)
    return m


def show(m: folium.Map, key: str, height: int = 520) -> None:
    """Render a map in the page (after :func:`check_offline`); no round trips on pan/zoom."""
    from streamlit_folium import st_folium

    check_offline(m)
    st_folium(m, key=key, height=height, use_container_width=True, returned_objects=[])
