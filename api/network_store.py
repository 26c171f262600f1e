"""Networks as the API keeps them: built from a scenario or an upload, serialised into the
database (tables, measurements, demand), rebuilt into runnable scenarios and cached.

A network's identity for the audit trail is :func:`network_hash`, the sha256 of its canonical
tables (the JSON document of :func:`twin.importers.network_to_dict` with sorted keys); the
demand has its own :func:`demand_hash`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from api.db.models import NetworkRow
from twin.demand import Demand
from twin.engine import Twin
from twin.errors import InputFileError
from twin.grid import Grid
from twin.importers import ImportResult, load_network, network_from_dict, network_to_dict
from twin.measurements import read_measurements
from twin.network import Network
from twin.prior import PriorKind, default_grid, scenario_from_network
from twin.scenarios import Scenario, load_scenario
from twin.traffic_map import read_traffic, traffic_from_doc

T = TypeVar("T")


# --- hashing and serialisation -----------------------------------------------------------------
def canonical_json(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False,
                      default=_plain).encode("utf-8")


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"not JSON serialisable: {type(v).__name__}")


def network_hash(network: Network) -> str:
    """sha256 of the canonical network document (tables, origin, name, notes)."""
    return hashlib.sha256(canonical_json(network_to_dict(network))).hexdigest()


def demand_hash(demand: Demand) -> str:
    g = demand.grid
    h = hashlib.sha256(canonical_json([g.x0_m, g.y0_m, g.spacing_m, g.nx, g.ny]))
    h.update(np.ascontiguousarray(demand.mbps, dtype="<f8").tobytes())
    return h.hexdigest()


def tables_to_blob(network: Network) -> bytes:
    return gzip.compress(canonical_json(network_to_dict(network)))


def tables_from_blob(blob: bytes) -> Network:
    return network_from_dict(json.loads(gzip.decompress(blob)), "stored network")


def demand_to_blob(demand: Demand) -> bytes:
    g = demand.grid
    buf = io.BytesIO()
    np.savez_compressed(buf, grid=np.array([g.x0_m, g.y0_m, g.spacing_m, g.nx, g.ny]),
                        mbps=np.asarray(demand.mbps, dtype=float))
    return buf.getvalue()


def demand_from_blob(blob: bytes) -> Demand:
    with np.load(io.BytesIO(blob)) as z:
        x0, y0, sp, nx, ny = (float(v) for v in z["grid"])
        return Demand(Grid(x0, y0, sp, int(nx), int(ny)), np.array(z["mbps"]))


def frame_to_blob(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def frame_from_blob(blob: bytes) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(blob))


# --- building --------------------------------------------------------------------------------
@dataclass(frozen=True)
class UploadedNetwork:
    """An upload turned into a runnable scenario, with what the import and calibration did."""

    scenario: Scenario
    import_summary: dict[str, Any]
    calibration: dict[str, Any] | None


def import_network(network_path: Path, cells_path: Path | None, candidates_path: Path | None,
                   measurements_path: Path | None, fmt: str = "auto", name: str | None = None,
                   prior: PriorKind = "cell-density", mbps_per_cell: float | None = None,
                   default_name: str | None = None,
                   traffic_path: Path | None = None,
                   traffic_name: str | None = None) -> UploadedNetwork:
    """Read uploaded files (already on disk) into a scenario: project tables or an OpenCelliD
    list (:func:`twin.importers.load_network`), the default prior demand of
    :func:`twin.prior.scenario_from_network`, calibrated to the measurements when given.

    ``traffic_path`` is a geolocated traffic map (:mod:`twin.traffic_map`) that shapes the
    demand (a JSON network document may carry one of its own). ``name`` overrides the
    network's name; ``default_name`` names networks whose file
    carries no name (CSV/Parquet tables, OpenCelliD lists; a JSON document has its own).

    Raises the twin's typed errors (bad file, bad table naming row and column, ...).
    """
    if fmt not in ("auto", "tables", "opencellid"):
        raise InputFileError(f"unknown format {fmt!r}; use auto, tables or opencellid")
    result: ImportResult = load_network(network_path, fmt,  # type: ignore[arg-type]
                                        cells_path, candidates_path)
    net = result.network
    if not name and default_name and network_path.suffix.lower() != ".json":
        name = default_name
    if name:
        net = Network(net.sites, net.cells, net.candidates, net.origin, name, net.notes)
    meas = read_measurements(measurements_path) if measurements_path is not None else None
    kwargs: dict[str, Any] = {"kind": prior, "description": "uploaded network"}
    if mbps_per_cell is not None:
        kwargs["mbps_per_cell"] = mbps_per_cell
    if traffic_path is not None:
        kwargs["traffic"] = read_traffic(traffic_path, default_grid(net), net.origin,
                                         traffic_name)
    elif result.traffic_doc is not None:
        kwargs["traffic"] = traffic_from_doc(result.traffic_doc, network_path.name)
    sc = scenario_from_network(net, meas, **kwargs)
    summary = result.summary()
    summary["source"] = network_path.name
    if sc.traffic is not None:
        summary["traffic"] = traffic_summary(sc)
    cal = sc.calibration.summary() if sc.calibration is not None else None
    return UploadedNetwork(sc, summary, cal)


def traffic_summary(sc: Scenario) -> dict[str, Any]:
    """What the traffic map did, for the import summary: its counts and warnings, and per
    cell the busy-hour share of the traffic it placed (the cells it placed most of first)."""
    out = sc.traffic.summary()
    rep = sc.traffic_report
    if rep is not None:
        top = rep.dropna(subset=["map_share"]).sort_values("map_share", ascending=False)
        out["map_share_by_cell"] = [
            {"cell_id": r.cell_id, "map_share": round(float(r.map_share), 4),
             "offered_mbps": round(float(r.offered_mbps), 3)}
            for r in top.head(50).itertuples(index=False)]
    return out


def scenario_of_row(row: NetworkRow) -> Scenario:
    """Rebuild the runnable scenario of a stored network (no calibration re-run)."""
    if row.source == "scenario":
        return load_scenario(str(row.scenario))
    if row.tables_blob is None or row.demand_blob is None:
        raise InputFileError(f"network {row.id} has no stored tables; re-upload it")
    net = tables_from_blob(row.tables_blob)
    meas = frame_from_blob(row.measurements_blob) if row.measurements_blob else None
    return Scenario(name=row.name, description="uploaded network", network=net,
                    demand=demand_from_blob(row.demand_blob), measurements=meas,
                    notes=tuple(row.notes))


# --- caches ----------------------------------------------------------------------------------
class LruCache:
    """A thread-safe LRU cache that computes each missing key once even when many threads
    ask at the same time (a per-key lock: 20 readers of a cold state wait for one run)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]  # type: ignore[no-any-return]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._data:
                    return self._data[key]  # type: ignore[no-any-return]
            value = compute()
            with self._lock:
                if self.size > 0:
                    self._data[key] = value
                    while len(self._data) > self.size:
                        self._data.popitem(last=False)
                self._key_locks.pop(key, None)
            return value

    def discard(self, predicate: Callable[[Hashable], bool]) -> None:
        with self._lock:
            for k in [k for k in self._data if predicate(k)]:
                del self._data[k]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


@dataclass(frozen=True)
class LoadedNetwork:
    """A stored network ready to run: its scenario and a twin (link gains cached inside)."""

    id: str
    network_hash: str
    scenario: Scenario
    twin: Twin


class NetworkCache:
    """Per-process cache of loaded networks and of twin states per (network, hour)."""

    def __init__(self, networks: int = 8, states: int = 64) -> None:
        self._networks = LruCache(networks)
        self._states = LruCache(states)
        self._bytes = LruCache(states)

    def loaded(self, row: NetworkRow) -> LoadedNetwork:
        def build() -> LoadedNetwork:
            sc = scenario_of_row(row)
            return LoadedNetwork(row.id, row.network_hash, sc, sc.twin())
        return self._networks.get((row.id, row.network_hash), build)

    def state_json(self, row: NetworkRow, hour: int | None) -> dict[str, Any]:
        """The JSON of ``celltwin twin --json`` for one hour (busy hour when None)."""
        ln = self.loaded(row)
        h = ln.scenario.demand.busy_hour if hour is None else int(hour)

        def build() -> dict[str, Any]:
            state = ln.twin.run(h)
            out = state.to_json(scenario=ln.scenario.name)
            out["notes"] = list(ln.scenario.notes)
            return out
        return self._states.get((row.id, row.network_hash, h), build)

    def state_bytes(self, row: NetworkRow, hour: int | None) -> bytes:
        """:meth:`state_json` serialised once: reads of a cached state cost no validation
        or encoding (the route returns these bytes as they are)."""
        ln = self.loaded(row)
        h = ln.scenario.demand.busy_hour if hour is None else int(hour)
        return self._bytes.get((row.id, row.network_hash, h), lambda: json.dumps(
            self.state_json(row, h), allow_nan=False, separators=(",", ":")).encode())

    def state(self, row: NetworkRow, hour: int | None) -> Any:
        """The :class:`twin.state.State` itself (not cached: maps need per-bin data rarely)."""
        ln = self.loaded(row)
        return ln.twin.run(ln.scenario.demand.busy_hour if hour is None else int(hour))

    def forget(self, network_id: str) -> None:
        self._networks.discard(lambda k: isinstance(k, tuple) and k[0] == network_id)
        self._states.discard(lambda k: isinstance(k, tuple) and k[0] == network_id)
        self._bytes.discard(lambda k: isinstance(k, tuple) and k[0] == network_id)
