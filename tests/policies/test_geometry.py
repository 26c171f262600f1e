"""Point-in-polygon against independent geometry: a convex polygon by half-planes, a square
with a square hole, a concave L shape by its two rectangles, edges inside."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from policies.geometry import inside, parse_zones

#: Quarter-metre grid shifted by 1/8: never exactly on an edge of the test polygons (edges
#: are tested on their own below).
coord = st.integers(-200, 200).map(lambda v: v / 4 + 0.125)


def zone(coords: list, kind: str = "Polygon") -> object:
    return parse_zones({"type": kind, "coordinates": coords}, "local_m")[0]


def halfplanes(poly: NDArray[np.float64], pts: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Inside a counter-clockwise convex polygon: left of (or on) every edge."""
    a, b = poly, np.roll(poly, -1, axis=0)
    cross = ((b[:, 0] - a[:, 0])[None, :] * (pts[:, 1:2] - a[:, 1][None, :])
             - (b[:, 1] - a[:, 1])[None, :] * (pts[:, 0:1] - a[:, 0][None, :]))
    return (cross >= -1e-9).all(axis=1)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(coord, coord), min_size=30, max_size=30))
def test_convex_hexagon_matches_half_planes(points: list[tuple[float, float]]) -> None:
    t = np.radians(np.arange(0, 360, 60) + 10.0)
    hexagon = np.column_stack([30 * np.cos(t), 20 * np.sin(t)])  # counter-clockwise
    pts = np.asarray(points)
    got = inside(pts, zone([hexagon.tolist()]))
    np.testing.assert_array_equal(got, halfplanes(hexagon, pts))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(coord, coord), min_size=30, max_size=30))
def test_square_with_hole_and_concave_l(points: list[tuple[float, float]]) -> None:
    pts = np.asarray(points)
    x, y = pts[:, 0], pts[:, 1]
    outer = [[-40, -40], [40, -40], [40, 40], [-40, 40], [-40, -40]]
    hole = [[-10, -10], [-10, 10], [10, 10], [10, -10], [-10, -10]]
    want = ((np.abs(x) <= 40) & (np.abs(y) <= 40)) & ~((np.abs(x) < 10) & (np.abs(y) < 10))
    np.testing.assert_array_equal(inside(pts, zone([outer, hole])), want)
    ell = [[0, 0], [30, 0], [30, 10], [10, 10], [10, 30], [0, 30]]
    want_l = (((x >= 0) & (x <= 30) & (y >= 0) & (y <= 10))
              | ((x >= 0) & (x <= 10) & (y >= 0) & (y <= 30)))
    np.testing.assert_array_equal(inside(pts, zone([ell])), want_l)


def test_edges_and_vertices_are_inside() -> None:
    z = zone([[[0, 0], [10, 0], [10, 10], [0, 10]]])
    pts = np.array([[0, 5], [10, 5], [5, 0], [5, 10], [0, 0], [10, 10], [10.001, 5], [5, -0.001]])
    assert inside(pts, z).tolist() == [True] * 6 + [False] * 2


def test_feature_collections_and_multipolygons_keep_names() -> None:
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "school"},
         "geometry": {"type": "MultiPolygon", "coordinates": [
             [[[0, 0], [1, 0], [1, 1]]], [[[5, 5], [6, 5], [6, 6]]]]}},
        {"type": "Feature", "properties": None,
         "geometry": {"type": "Polygon", "coordinates": [[[9, 9], [10, 9], [10, 10]]]}}]}
    zones = parse_zones(fc, "local_m")
    assert [z.name for z in zones] == ["school", "school", ""]


@pytest.mark.parametrize("bad", [
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, "a"], [2, 2]]]},
    {"type": "Polygon", "coordinates": []},
    {"type": "FeatureCollection", "features": []},
    {"coordinates": [[[0, 0], [1, 0], [1, 1]]]},
])
def test_malformed_geojson(bad: dict) -> None:
    with pytest.raises(ValueError):
        parse_zones(bad, "local_m")


def test_large_zone_on_many_points_keeps_memory_bounded() -> None:
    # A detailed boundary (10 000 vertices) against 1000 positions: unchunked, each [n, m]
    # temporary is 80 MB and the test peaked near half a gigabyte.
    import tracemalloc

    t = np.linspace(0.0, 2 * np.pi, 10_000, endpoint=False)
    circle = zone([np.column_stack([1000 * np.cos(t), 1000 * np.sin(t)]).tolist()])
    rng = np.random.default_rng(0)
    pts = rng.uniform(-1500, 1500, (1000, 2))
    tracemalloc.start()
    got = inside(pts, circle)  # type: ignore[arg-type]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    r = np.hypot(pts[:, 0], pts[:, 1])
    clear = np.abs(r - 1000) > 1.0  # the polygon is within 0.05 m of the circle
    assert (got[clear] == (r[clear] < 1000)).all()
    assert peak < 60e6, f"peak {peak / 1e6:.0f} MB"
