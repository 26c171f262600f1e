"""Radio maps as images: one pixel per grid bin of a twin state, coloured on a fixed scale,
with the bounds a map needs to place it (an image overlay draws in one request however many
bins the grid has).

Layers (``RASTER_LAYERS``):

* ``rsrp``: best-server RSRP (dBm, TS 36.214), scale -130 .. -60 dBm;
* ``sinr``: DL SINR of the best server at the hour's loads (dB), scale -10 .. 30 dB;
* ``best_server``: the serving cell, one colour per cell (a legend lists the cells that serve
  the most bins); bins no cell reaches are transparent;
* ``demand``: offered traffic density (Mbit/s/km^2), scale 0 .. the densest bin of the hour.

Positions: the grid is the network's local metric frame; the bounds are WGS84
``[[south, west], [north, east]]`` for a network with an origin, or local
``[[y_min, x_min], [y_max, x_max]]`` metres (``frame: "local_m"``).
"""

from __future__ import annotations

import base64
import io
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from twin.grid import Grid
from twin.network import Network
from twin.state import State

RasterLayer = Literal["rsrp", "sinr", "best_server", "demand"]
RASTER_LAYERS: tuple[str, ...] = ("rsrp", "sinr", "best_server", "demand")

#: layer -> (unit, scale min, scale max); demand's max is the hour's densest bin
SCALES: dict[str, tuple[str, float, float]] = {
    "rsrp": ("dBm", -130.0, -60.0),
    "sinr": ("dB", -10.0, 30.0),
    "demand": ("Mbit/s/km^2", 0.0, float("nan")),
}
#: a perceptual sequential scale (viridis stops), low -> high
STOPS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
           "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363")
MAX_LEGEND_CELLS = 20
ALPHA = 170


def _rgb(hex_colour: str) -> NDArray[np.float64]:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)


def colour_scale(values: NDArray[np.float64], lo: float, hi: float) -> NDArray[np.uint8]:
    """RGBA ``[n, 4]`` of ``values`` on :data:`STOPS` between ``lo`` and ``hi`` (NaN:
    transparent)."""
    t = np.clip((values - lo) / max(hi - lo, 1e-12), 0.0, 1.0)
    xs = np.linspace(0.0, 1.0, len(STOPS))
    stops = np.array([_rgb(c) for c in STOPS])  # [n_stop, 3]
    rgb = np.column_stack([np.interp(np.nan_to_num(t), xs, stops[:, k]) for k in range(3)])
    alpha = np.where(np.isfinite(values), ALPHA, 0)
    return np.column_stack([rgb, alpha]).round().astype(np.uint8)


def server_colours(serving: NDArray[np.int64], n_cell: int) -> NDArray[np.uint8]:
    """RGBA ``[n_bin, 4]``: one palette colour per serving cell (cells coloured by index, so
    neighbours of consecutive ids differ), transparent where no cell serves."""
    pal = np.array([_rgb(c) for c in PALETTE])  # [n_pal, 3]
    rgb = pal[np.maximum(serving, 0) % len(pal)]
    alpha = np.where(serving >= 0, ALPHA, 0)
    return np.column_stack([rgb, alpha]).astype(np.uint8)


def _png(rgba: NDArray[np.uint8], nx: int, ny: int) -> bytes:
    from PIL import Image

    img = rgba.reshape(ny, nx, 4)[::-1]  # bin rows run south -> north; images top -> down
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img), mode="RGBA").save(buf, format="PNG",
                                                                  optimize=True)
    return buf.getvalue()


def bounds(network: Network, g: Grid) -> tuple[list[list[float]], str]:
    """Image bounds (see module) and the frame."""
    x0, y0 = g.x0_m - g.spacing_m / 2, g.y0_m - g.spacing_m / 2
    x1, y1 = x0 + g.nx * g.spacing_m, y0 + g.ny * g.spacing_m
    if network.origin is None:
        return [[y0, x0], [y1, x1]], "local_m"
    lat, lon = network.origin.to_wgs84(np.array([x0, x1]), np.array([y0, y1]))
    return [[float(lat[0]), float(lon[0])], [float(lat[1]), float(lon[1])]], "wgs84"


def raster(network: Network, state: State, g: Grid, layer: str) -> dict[str, Any]:
    """The body of ``GET /networks/{id}/raster`` (and of a plan's after-state): the state of
    ``network`` on grid ``g``."""
    rb = state.res_bin
    legend: list[dict[str, Any]] = []
    if layer == "best_server":
        serving = np.asarray(state.serving, dtype=np.int64)
        rgba = server_colours(serving, len(network.cells))
        unit, lo, hi = "cell", float("nan"), float("nan")
        ids = network.cell_ids
        counts = np.bincount(serving[serving >= 0], minlength=len(ids))
        for i in np.argsort(-counts, kind="stable")[:MAX_LEGEND_CELLS]:
            if counts[i] == 0:
                break
            legend.append({"cell_id": ids[i], "colour": PALETTE[i % len(PALETTE)],
                           "bins": int(counts[i])})
    else:
        if layer == "rsrp":
            values = rb["rsrp_dbm"].to_numpy(float)
        elif layer == "sinr":
            values = rb["sinr_db"].to_numpy(float)
        else:
            values = rb["offered_mbps"].to_numpy(float) / g.bin_area_km2
        served = np.asarray(state.serving) >= 0
        values = np.where(served | (layer == "demand"), values, np.nan)
        unit, lo, hi = SCALES[layer]
        if layer == "demand":
            hi = float(np.nanmax(values)) if np.isfinite(values).any() else 1.0
            hi = hi if hi > 0 else 1.0
        rgba = colour_scale(values, lo, hi)
    b, frame = bounds(network, g)
    return {"layer": layer, "hour": state.hour, "unit": unit, "frame": frame, "bounds": b,
            "width": g.nx, "height": g.ny, "bin_m": g.spacing_m,
            "scale": None if layer == "best_server" else {"min": lo, "max": hi,
                                                          "colours": list(STOPS)},
            "legend": legend,
            "png_base64": base64.b64encode(_png(rgba, g.nx, g.ny)).decode("ascii")}
