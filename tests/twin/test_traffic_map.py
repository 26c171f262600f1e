"""Geolocated traffic maps (twin/traffic_map.py): reading, density, blending with the prior,
and what calibration keeps of them. Cases are generated event networks (several crowd kinds
and seeds), never the shipped scenarios."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from twin.engine import Twin
from twin.errors import InputFileError
from twin.grid import Grid
from twin.prior import default_grid, scenario_from_network
from twin.scenarios.event import EventCase, event_case
from twin.traffic_map import (
    ALL_HOURS,
    MAX_SAMPLES,
    TrafficMap,
    bandwidth_m,
    blend,
    rasterise,
    read_traffic,
    traffic_from_doc,
    traffic_to_doc,
)


@pytest.fixture(scope="module", params=[("boresight", 3), ("edge", 5), ("two", 8)],
                ids=lambda p: f"{p[0]}-{p[1]}")
def case(request: pytest.FixtureRequest) -> EventCase:
    kind, seed = request.param
    return event_case(kind, seed=seed)


def _samples_file(tmp_path: Path, df: pd.DataFrame, name: str = "samples.csv") -> Path:
    p = tmp_path / name
    if name.endswith(".parquet"):
        df.to_parquet(p, index=False)
    else:
        df.to_csv(p, index=False)
    return p


def _near(grid: Grid, xy: np.ndarray, radius_m: float) -> np.ndarray:
    x, y = grid.xy()
    return np.any([np.hypot(x - cx, y - cy) < radius_m for cx, cy in xy], axis=0)


# --- the map moves demand, the counters keep their levels ------------------------------------
def test_map_moves_the_traffic_to_the_crowd_and_counters_keep_their_levels(
        case: EventCase, tmp_path: Path) -> None:
    path = _samples_file(tmp_path, case.samples)
    plain = scenario_from_network(case.network, case.measurements)
    mapped = scenario_from_network(case.network, case.measurements, traffic=path)
    h = mapped.demand.busy_hour
    # counters matched with and without the map
    assert mapped.calibration.max_abs_error < 0.01
    assert plain.calibration.max_abs_error < 0.01
    # the same per-cell loads (the counters decide how much) ...
    u_plain = Twin(case.network, plain.demand).run(h).res_cell["prb_util"].to_numpy()
    u_map = Twin(case.network, mapped.demand).run(h).res_cell["prb_util"].to_numpy()
    assert np.abs(u_map - u_plain).max() < 0.02
    # ... but the traffic sits elsewhere (the map decides where)
    near = _near(mapped.demand.grid, case.crowd_xy_m, 75.0)
    d_map, d_plain, d_true = (d.at(h) for d in (mapped.demand, plain.demand, case.truth))
    share = {k: float(d[near].sum() / d.sum())
             for k, d in (("map", d_map), ("plain", d_plain), ("truth", d_true))}
    assert share["map"] > 2 * share["plain"], share
    assert abs(share["map"] - share["truth"]) < 0.5 * share["truth"], share
    # the busiest bins sit at the crowd
    top = np.argsort(d_map)[-3:]
    assert near[top].all()


def test_a_sample_cloud_at_one_point_is_carried_by_the_cell_covering_it(tmp_path: Path) -> None:
    case = event_case("boresight", seed=11)
    net = case.network
    grid = default_grid(net)
    # a cloud at one point (no counters): the cell serving it carries the traffic
    point = case.crowd_xy_m[0] + np.array([0.0, 0.0])
    lat, lon = net.origin.to_wgs84(np.full(200, point[0]), np.full(200, point[1]))
    path = _samples_file(tmp_path, pd.DataFrame({"lat_deg": lat, "lon_deg": lon}))
    sc = scenario_from_network(net, None, traffic=path)
    tw = Twin(net, sc.demand)
    serving = tw.assembly.serving
    b = grid.bin_of(*point)
    hot = serving[b]
    st = tw.run()
    util = st.res_cell["prb_util"].to_numpy()
    plain = Twin(net, scenario_from_network(net, None).demand).run(st.hour)
    assert util[hot] == util.max()
    assert util[hot] > 3 * plain.res_cell["prb_util"].iloc[hot]
    # the map's traffic is offered to that cell, not to its neighbours
    placed = sc.traffic_report.set_index("cell_id")
    gained = st.res_cell["offered_mbps"].to_numpy() - plain.res_cell["offered_mbps"].to_numpy()
    total_map = float(placed["map_mbps"].sum())
    assert gained[hot] > 0.7 * total_map
    assert np.delete(gained, hot).max() < 0.15 * total_map
    assert placed["map_share"].iloc[hot] > 0.8


def test_counters_without_map_leave_the_shape_of_the_prior(case: EventCase) -> None:
    """Control: per-cell counters alone cannot say where the crowd stands."""
    plain = scenario_from_network(case.network, case.measurements)
    h = plain.demand.busy_hour
    near = _near(plain.demand.grid, case.crowd_xy_m, 75.0)
    true_share = case.truth.at(h)[near].sum() / case.truth.at(h).sum()
    assert plain.demand.at(h)[near].sum() / plain.demand.at(h).sum() < 0.5 * true_share


# --- density ---------------------------------------------------------------------------------
def _slow_density(points: pd.DataFrame, grid: Grid, bw_m: float) -> np.ndarray:
    """Obvious reference: each sample's weight put in its nearest bin, then spread with a
    Gaussian of ``bw_m`` evaluated bin by bin (truncated at 3 sigma, renormalised)."""
    x, y = grid.xy()
    out = np.zeros(grid.n_bin)
    cx = grid.x0_m + np.clip(np.rint((points["x_m"] - grid.x0_m) / grid.spacing_m), 0,
                             grid.nx - 1) * grid.spacing_m
    cy = grid.y0_m + np.clip(np.rint((points["y_m"] - grid.y0_m) / grid.spacing_m), 0,
                             grid.ny - 1) * grid.spacing_m
    ix, iy = np.rint((x - grid.x0_m) / grid.spacing_m), np.rint((y - grid.y0_m) / grid.spacing_m)
    for px, py, w in zip(cx, cy, points["value"], strict=True):
        jx, jy = np.rint((px - grid.x0_m) / grid.spacing_m), np.rint((py - grid.y0_m)
                                                                     / grid.spacing_m)
        s = bw_m / grid.spacing_m
        k = np.exp(-0.5 * ((ix - jx) ** 2 + (iy - jy) ** 2) / s**2)
        k[(np.abs(ix - jx) > int(3 * s + 0.5)) | (np.abs(iy - jy) > int(3 * s + 0.5))] = 0.0
        out += w * k / k.sum()
    return out


def test_rasterised_density_matches_a_slow_reference() -> None:
    grid = Grid.covering(0.0, 0.0, 1000.0, 800.0, 20.0)
    rng = np.random.default_rng(4)
    pts = pd.DataFrame({"x_m": rng.normal(500, 60, 300), "y_m": rng.normal(400, 40, 300),
                        "value": rng.uniform(0.5, 2.0, 300), "hour": ALL_HOURS})
    tmap = TrafficMap(pts, (), False, "test")
    fast = rasterise(tmap, grid)
    bw = bandwidth_m(pts, grid)
    assert 10.0 <= bw <= 60.0
    slow = _slow_density(pts, grid, bw)
    assert np.allclose(fast[0], fast[13])  # no hour: every hour
    assert fast[0].sum() == pytest.approx(pts["value"].sum())
    # scipy's separable filter vs a 2-D kernel: same up to the truncation's shape
    assert np.abs(fast[0] - slow).sum() / slow.sum() < 0.02


def test_hours_and_polygons(tmp_path: Path) -> None:
    case = event_case("edge", seed=2)
    net = case.network
    grid = default_grid(net)
    o = net.origin
    cx, cy = case.crowd_xy_m[0]
    # a 200 m square "festival ground" at 20:00 only, and a point for every hour
    xs = cx + np.array([-100, 100, 100, -100, -100])
    ys = cy + np.array([-100, -100, 100, 100, -100])
    lat, lon = o.to_wgs84(xs, ys)
    plat, plon = o.to_wgs84(np.array([cx - 300.0]), np.array([cy]))
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"weight": 40.0, "hour": 20, "name": "festival"},
         "geometry": {"type": "Polygon",
                      "coordinates": [[[float(a), float(b)] for a, b in zip(lon, lat,
                                                                            strict=True)]]}},
        {"type": "Feature", "properties": {"weight": 1.0},
         "geometry": {"type": "Point", "coordinates": [float(plon[0]), float(plat[0])]}}]}
    p = tmp_path / "event.geojson"
    p.write_text(json.dumps(doc))
    tmap = read_traffic(p, grid, o)
    assert len(tmap.areas) == 1 and len(tmap.points) == 1 and not tmap.absolute
    m = rasterise(tmap, grid)
    inside = np.zeros(grid.n_bin, dtype=bool)
    inside[grid.bin_of(cx, cy)] = True  # the square's centre bin
    assert m[20][inside].sum() > 0 and m[19][inside].sum() == 0
    # the area is spread evenly: every bin inside holds the same density, edge bins their
    # overlap's share, and the total is the area's
    sq = m[20] - m[19]
    full = sq > sq.max() * (1 - 1e-9)
    assert full.sum() >= 4
    assert np.allclose(sq[full] / grid.spacing_m**2, 40.0 / 200.0**2)
    assert sq.sum() == pytest.approx(40.0)
    # hours without the area keep the prior's level, blended with the point
    prior = scenario_from_network(net, None).demand
    mapped = blend(prior, tmap)
    for h in (3, 20):
        assert mapped.demand.at(h).sum() == pytest.approx(prior.at(h).sum())
    assert mapped.demand.at(20)[inside].sum() > 5 * mapped.demand.at(19)[inside].sum()


def test_absolute_map_sets_the_traffic_where_it_has_samples(tmp_path: Path) -> None:
    case = event_case("boresight", seed=4)
    net = case.network
    grid = default_grid(net)
    cx, cy = case.crowd_xy_m[0]
    pts = pd.DataFrame({"x_m": cx + np.zeros(10), "y_m": cy + np.zeros(10), "mbps": 3.0})
    tmap = read_traffic(_samples_file(tmp_path, pts), grid, net.origin)
    assert tmap.absolute
    prior = scenario_from_network(net, None).demand
    mapped = blend(prior, tmap)
    near = _near(grid, case.crowd_xy_m, 100.0)
    far = ~_near(grid, case.crowd_xy_m, 400.0)
    h = prior.busy_hour
    assert mapped.map_mbps[h].sum() == pytest.approx(30.0, rel=1e-6)
    # point samples add their traffic to the background ...
    added = mapped.demand.at(h) - prior.at(h)
    assert added[near].sum() == pytest.approx(30.0, rel=0.05)
    assert np.allclose(mapped.demand.at(h)[far], prior.at(h)[far])
    # ... an area replaces what the prior had there
    from shapely.geometry import box

    from twin.traffic_map import TrafficArea, area_bins, coverage

    sq = box(cx - 150.0, cy - 150.0, cx + 150.0, cy + 150.0)
    area_map = TrafficMap(tmap.points.iloc[:0], (TrafficArea(sq, 50.0, ALL_HOURS, "a"),), True,
                          "area")
    replaced = blend(prior, area_map).demand.at(h)
    bins = area_bins(sq, grid)
    c = coverage(area_map, grid, h)
    inside = c > 1 - 1e-9
    assert np.allclose(replaced[inside], 50.0 / 300.0**2 * grid.spacing_m**2)
    assert replaced.sum() == pytest.approx(prior.at(h).sum() - (c * prior.at(h)).sum() + 50.0)
    outside = np.setdiff1d(np.arange(grid.n_bin), bins)
    assert np.allclose(replaced[outside], prior.at(h)[outside])


def test_map_round_trips_through_a_network_document(tmp_path: Path) -> None:
    case = event_case("two", seed=6)
    grid = default_grid(case.network)
    tmap = read_traffic(_samples_file(tmp_path, case.samples), grid, case.network.origin)
    back = traffic_from_doc(json.loads(json.dumps(traffic_to_doc(tmap))))
    assert back.n_points == len(case.samples)
    a, b = rasterise(tmap, grid), rasterise(back, grid)
    # samples are summed per 10 m square: each moves by at most 7.1 m, so the traffic
    # around each crowd stays where it was
    assert a.sum() == pytest.approx(b.sum())
    for c in case.crowd_xy_m:
        near = _near(grid, c[None, :], 100.0)
        assert b[0][near].sum() == pytest.approx(a[0][near].sum(), rel=0.03)


# --- bad input -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def net_grid() -> tuple[EventCase, Grid]:
    case = event_case("boresight", seed=21)
    return case, default_grid(case.network)


@pytest.mark.parametrize(("rows", "message"), [
    ({"x_m": [0.0, np.nan], "y_m": [0.0, 0.0]}, "x_m"),
    ({"x_m": [0.0, 1.0], "y_m": [0.0, 0.0], "weight": [1.0, -2.0]}, "row 2 (file line 3)"),
    ({"x_m": [0.0, 1.0], "y_m": [0.0, 0.0], "hour": [3, 24]}, "hour 24"),
    ({"x_m": [0.0, 1.0], "y_m": [0.0, 0.0], "hour": [3.5, 2]}, "integer 0..23"),
    ({"x_m": [0.0, 1.0], "y_m": [0.0, 0.0], "weight": ["a", 1]}, "not a number"),
    ({"x_m": [0.0], "y_m": [0.0], "mbps": [np.nan]}, None),  # weight mode: mbps column empty
    ({"x_m": [1e6, 2e6], "y_m": [0.0, 0.0]}, "no sample lies inside"),
    ({"lon": [1.0], "lat": [2.0]}, "unknown column"),
    ({"x_m": [0.0, 1.0], "y_m": [0.0, 0.0], "weight": [0.0, 0.0]}, "every weight is 0"),
    ({"x_m": [0.0, 5.0], "y_m": [0.0, 0.0], "mbps": [1.0, np.nan]}, "mbps is missing"),
])
def test_bad_sample_files_are_refused_with_row_and_fix(
        net_grid: tuple[EventCase, Grid], tmp_path: Path, rows: dict, message: str | None) -> None:
    case, grid = net_grid
    path = _samples_file(tmp_path, pd.DataFrame(rows))
    if message is None:
        assert read_traffic(path, grid, case.network.origin).n_points == 1
        return
    with pytest.raises(InputFileError, match=r"samples\.csv") as exc:
        read_traffic(path, grid, case.network.origin)
    assert message in str(exc.value)


def test_outside_samples_are_counted_and_dropped(net_grid: tuple[EventCase, Grid],
                                                 tmp_path: Path) -> None:
    case, grid = net_grid
    pts = pd.DataFrame({"x_m": [0.0, 10.0, 5e5], "y_m": [0.0, 0.0, 0.0]})
    tmap = read_traffic(_samples_file(tmp_path, pts), grid, case.network.origin)
    assert len(tmap.points) == 2
    assert any("1 of 3 point samples" in w for w in tmap.warnings)


def test_empty_and_missing_files(net_grid: tuple[EventCase, Grid], tmp_path: Path) -> None:
    case, grid = net_grid
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("x_m,y_m\n")
    for name, msg in (("empty.csv", "empty"), ("header.csv", "no rows"),
                      ("missing.csv", "not found")):
        with pytest.raises(InputFileError, match=msg):
            read_traffic(tmp_path / name, grid, case.network.origin)


def test_latlon_needs_an_origin(net_grid: tuple[EventCase, Grid], tmp_path: Path) -> None:
    _, grid = net_grid
    path = _samples_file(tmp_path, pd.DataFrame({"lat_deg": [50.9], "lon_deg": [6.9]}))
    with pytest.raises(InputFileError, match="no geographic origin"):
        read_traffic(path, grid, None)


def test_parquet_over_the_row_limit_is_refused_before_reading(
        net_grid: tuple[EventCase, Grid], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
        ) -> None:
    case, grid = net_grid
    import twin.traffic_map as tm

    monkeypatch.setattr(tm, "MAX_SAMPLES", 1000)
    path = _samples_file(tmp_path, pd.DataFrame({"x_m": np.zeros(1001), "y_m": 0.0}),
                         "big.parquet")
    with pytest.raises(InputFileError, match="1,001 rows, more than the limit of 1,000"):
        read_traffic(path, grid, case.network.origin)
    assert MAX_SAMPLES >= 1_000_000  # the documented limit holds a city's MDT


def _geojson(tmp_path: Path, features: list[dict]) -> Path:
    p = tmp_path / "map.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return p


@pytest.mark.parametrize(("geometry", "props", "message"), [
    ({"type": "Polygon", "coordinates": [[[6.95, 50.94], [6.96, 50.95], [6.96, 50.94],
                                          [6.95, 50.95], [6.95, 50.94]]]}, {},
     "Self-intersection"),
    ({"type": "Polygon", "coordinates": [[[6.95, 50.94], [6.96, 50.95], [6.95, 50.94]]]}, {},
     "at least 4 positions"),
    ({"type": "LineString", "coordinates": [[6.95, 50.94], [6.96, 50.95]]}, {}, "LineString"),
    ({"type": "Point", "coordinates": [200.0, 50.94]}, {}, "WGS84"),
    ({"type": "Point", "coordinates": [6.95, 50.94]}, {"weight": -1}, "negative"),
    ({"type": "Point", "coordinates": [6.95, 50.94]}, {"hour": 24}, "hour 24"),
    ({"type": "Point", "coordinates": [6.95, 50.94]}, {"weight": "lots"}, "finite number"),
])
def test_bad_geojson_features_are_refused(net_grid: tuple[EventCase, Grid], tmp_path: Path,
                                          geometry: dict, props: dict, message: str) -> None:
    case, grid = net_grid
    path = _geojson(tmp_path, [{"type": "Feature", "properties": {"weight": 1.0},
                                "geometry": {"type": "Point",
                                             "coordinates": [6.9583, 50.9413]}},
                               {"type": "Feature", "properties": props, "geometry": geometry}])
    with pytest.raises(InputFileError, match="feature 1") as exc:
        read_traffic(path, grid, case.network.origin)
    assert message in str(exc.value)


def test_geojson_that_is_not_a_feature_collection(net_grid: tuple[EventCase, Grid],
                                                  tmp_path: Path) -> None:
    case, grid = net_grid
    p = tmp_path / "x.geojson"
    for text, msg in (("[" * 5000 + "]" * 5000, "levels deep"),
                      ('{"type": "Feature"}', "FeatureCollection"), ("{", "not valid JSON"),
                      ('{"type": "FeatureCollection", "features": []}', "no features")):
        p.write_text(text)
        with pytest.raises(InputFileError, match=msg):
            read_traffic(p, grid, case.network.origin)
