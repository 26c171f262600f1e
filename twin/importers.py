"""Import a cell list into a :class:`~twin.network.Network`: OpenCelliD exports and the
project's own table format (read and write).

**OpenCelliD** (https://opencellid.org, CC BY-SA 4.0). Two layouts are read:

* the export format (``lon``, ``lat``, ``cell`` and optionally ``radio``, ``mcc``, ``net``,
  ``range``, ``averageSignal``...; e.g. ``lon,lat,mcc,range,net,cell,averageSignal``);
* the Milan re-tabulation (``cell_eci``, ``enb_id_derived``, ``local_cell_id_derived``,
  ``radio``, ``range_m``, ``created``, ``lon``, ``lat``, ``grid_cellId``).

OpenCelliD positions are crowd-sourced estimates of *where a cell was heard*, not antenna
positions, and azimuths are unknown. The importer therefore builds **estimated** sites:

1. Only LTE cells are kept (the twin's default carrier is LTE). With a ``radio`` column a row
   is LTE when it says so; without one, when its id is an E-UTRAN cell identity (28-bit ECI,
   ``65535 < id < 2**28``; smaller ids are GSM/UMTS cell ids, larger ones NR cell ids).
   Skipped rows are counted by reason in :class:`ImportResult` (never silently dropped).
   Rows at coordinates shared exactly by cells of :data:`PLACEHOLDER_MIN_ENBS` or more distinct
   eNBs are skipped too: such a point is a placeholder (a batch upload with one position), not
   a fix (the Munich file has 99 cells of 75 eNBs on one point; real masts host a few eNBs).
2. Rows with the same (MCC, MNC, ECI) are one cell heard under several area codes; they are
   merged into one cell at their mean position (counted in ``merged_duplicates`` and said in
   ``warnings``, with the most scattered cell; in the Munich file 105 cells, at most 5.7 km
   apart). Rows of one cell more than :data:`MAX_EXTENT_M` apart are refused: two cells
   share an id by mistake. A negative ``range`` is refused.
3. Cells are grouped by eNB (``eNB id = ECI // 256``, TS 36.413 9.2.1.38, per MCC/MNC) and
   each group is split into connected components of a radius graph with link radius
   :data:`ENB_LINK_RADIUS_M` (1500 m: in the Munich data 90 % of eNBs have all their cells'
   fixes within 1.1 km of their centroid; the few cells farther from every other cell of
   their eNB become a site of their own). Distinct eNB ids are never merged, so a mast that
   hosts two eNBs appears as two co-located sites. Each component is one site, placed at the
   centroid of its cells' fixes, ``estimated=True``.
4. Azimuths: each cell is one sector; a site's ``n`` sectors are spread evenly (``360/n``
   apart), in the order of the bearings of their fixes from the site centroid, and the whole
   fan is rotated to the circular mean of ``bearing_k - k 360/n`` (a fix lies in front of
   the sector it was heard from). A single-cell site has no bearing information: 0 deg.
5. Every other parameter comes from :data:`DEFAULT_CELL` (LTE band 3: 1.8 GHz, 20 MHz,
   100 PRBs per TS 36.101 Table 5.6-1, 46 dBm, 2 layers, 25 m, 6 deg electrical tilt,
   TR 38.901 sector pattern, UMa), overridable per import.

Positions are put in a local metric frame (:class:`twin.geo.Origin`) at the mean position of
the imported cells. Rows with a missing or out-of-range longitude/latitude, or a non-numeric
id, are an error naming the row and the file line: nothing is half-imported.

**Project tables**: the ``sites`` / ``cells`` / ``candidates`` tables of :mod:`twin.tables`,
as CSV or Parquet files (one per table) or one JSON document
``{"format": "celltwin-network", "version": 1, "name", "notes", "origin": {"lat_deg",
"lon_deg"} | null, "sites": [...], "cells": [...], "candidates": [...]}`` (``format`` and
``version`` may be left out; another format or version is refused). Validation errors come
from :mod:`twin.schema` (table, row, column). Sizes are bounded by :mod:`twin.input_limits`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from twin import input_limits
from twin.errors import InputFileError, ValidationError
from twin.geo import Origin
from twin.input_limits import check_network_size, check_parquet, check_rows, parse_json
from twin.network import Network
from twin.schema import Column, TableSchema, validate

#: Resource blocks per LTE channel bandwidth, TS 36.101 Table 5.6-1 (MHz -> PRBs).
LTE_PRB_BY_BANDWIDTH_MHZ: dict[float, int] = {1.4: 6, 3.0: 15, 5.0: 25, 10.0: 50, 15.0: 75,
                                               20.0: 100}

#: Parameters of an imported cell that the cell list does not give (LTE band 3 macro sector).
DEFAULT_CELL: dict[str, Any] = {
    "tx_power_dbm": 46.0, "fc_ghz": 1.8, "bandwidth_mhz": 20.0, "n_prb": 100, "scs_khz": 15.0,
    "mimo_layers": 2, "height_m": 25.0, "mech_tilt_deg": 0.0, "elec_tilt_deg": 6.0,
    "antenna": "macro3gpp", "antenna_gain_dbi": 17.0, "h_beamwidth_deg": 65.0,
    "v_beamwidth_deg": 10.0, "cio_db": 0.0, "scenario": "uma",
}

#: Downlink centres (GHz) of the 20 MHz carriers of the operators of a list with several
#: PLMNs (MCC-MNC), in PLMN order: LTE band 3 (1805-1880 MHz, TS 36.101 Table 5.5-1) holds four,
#: band 7 (2620-2690 MHz) three more, then they repeat. Distinct carriers do not interfere
#: (the engine groups co-channel cells by ``fc_ghz``), so operators do not load each other.
OPERATOR_CARRIERS_GHZ = (1.815, 1.835, 1.855, 1.875, 2.63, 2.65, 2.67)
#: Carriers the eNBs of a list without operator codes are spread over (by eNB id), as the
#: sites of this many operators interleave in a city: one carrier for every cell would make
#: each operator's cells interfere with all the others'.
UNKNOWN_OPERATOR_CARRIERS = 3

#: Cells of one eNB whose fixes are within this distance (transitively) form one site.
ENB_LINK_RADIUS_M = 1500.0
#: Exactly identical coordinates shared by this many distinct eNBs mark a placeholder position.
PLACEHOLDER_MIN_ENBS = 10
#: An imported cell list must describe one city or region, not a continent.
MAX_EXTENT_M = 150_000.0
#: Largest ECI (28 bits, TS 36.413) and largest GSM/UMTS cell id (16 bits).
MAX_ECI = 2**28 - 1
MAX_LEGACY_CELL_ID = 65535

#: ``format`` and ``version`` of the JSON network document (written: the last version).
DOCUMENT_FORMAT = "celltwin-network"
SUPPORTED_VERSIONS = (1,)

#: Column names of the supported OpenCelliD layouts -> the names used here.
_ALIASES = {"cell_eci": "cell", "range_m": "range", "longitude": "lon", "latitude": "lat",
            "mnc": "net", "cellid": "cell", "ci": "cell"}

OPENCELLID = TableSchema(
    name="opencellid",
    allow_extra=True,
    columns=(
        Column("lon", "float", "longitude of the cell's crowd-sourced position", min=-180,
               max=180),
        Column("lat", "float", "latitude of the cell's crowd-sourced position", min=-90, max=90),
        Column("cell", "int", "cell id (LTE: ECI = 256 x eNB id + local cell id)", min=0,
               max=2**40),
        Column("mcc", "int", "mobile country code (-1 = not given)", min=-1, max=999,
               default=-1),
        Column("net", "int", "mobile network code (-1 = not given)", min=-1, max=999,
               default=-1),
        Column("radio", "str", "radio access technology (GSM, UMTS, LTE, NR; '-' = not given)",
               default="-"),
        Column("range", "float", "OpenCelliD's estimate of the cell's range, m (blank = not "
               "given)", min=0, nullable=True),
    ),
)

TableFormat = Literal["auto", "opencellid", "tables"]


@dataclass(frozen=True)
class ImportResult:
    """An imported network and what the import did.

    Attributes:
        network: the network (sites ``estimated`` for OpenCelliD imports).
        source: the file read.
        n_rows: data rows in the file.
        skipped: rows not imported, by reason (e.g. ``{"not LTE (GSM/UMTS cell id)": 507}``).
        merged_duplicates: rows merged into an earlier row with the same cell identity.
        link_radius_m: link radius of the site clustering (None for table imports).
        warnings: what the import changed or left out of the file, in words (skipped rows,
            merged duplicates), for the user to see beside the counts.
    """

    network: Network
    source: str
    n_rows: int
    skipped: dict[str, int] = field(default_factory=dict)
    merged_duplicates: int = 0
    link_radius_m: float | None = None
    warnings: tuple[str, ...] = ()
    #: the ``traffic`` section of a JSON network document (:func:`twin.traffic_map.traffic_to_doc`)
    traffic_doc: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        net = self.network
        return {"source": self.source, "name": net.name, "n_rows": self.n_rows,
                "n_sites": len(net.sites), "n_cells": len(net.cells),
                "n_estimated_sites": int(net.sites["estimated"].sum()),
                "skipped": dict(self.skipped), "merged_duplicates": self.merged_duplicates,
                "link_radius_m": self.link_radius_m, "notes": list(net.notes),
                "warnings": list(self.warnings)}


# --- reading files ---------------------------------------------------------------------------
def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def csv_dialect(path: Path) -> tuple[str, str]:
    """The field separator and decimal mark of a CSV file, from its header line: ``,`` and
    ``.``, or ``;`` and ``,`` (what Excel writes in German or Italian settings), or a tab."""
    with path.open("rb") as f:
        head = f.readline(64 * 1024).decode("utf-8", errors="replace")
    counts = {sep: head.count(sep) for sep in (",", ";", "\t")}
    sep = max(counts, key=lambda k: counts[k]) if any(counts.values()) else ","
    if sep == ";":
        return ";", ","
    return sep, "."


def read_table_file(path: str | Path, what: str, dtype: Mapping[str, Any] | None = None
                    ) -> pd.DataFrame:
    """Read one CSV or Parquet file; raises InputFileError naming the path if it cannot. The
    CSV separator (comma, semicolon with decimal commas, or tab) is taken from the header line
    (:func:`csv_dialect`)."""
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{what} file {str(p)!r} not found")
    kind = "Parquet" if _is_parquet(p) else "CSV"
    if _is_parquet(p):
        check_parquet(p, what)  # rows and decompressed size from the footer, before reading
    try:
        if _is_parquet(p):
            df = pd.read_parquet(p)
        else:
            sep, decimal = csv_dialect(p)
            # Ids are text: keep "007" and "NA" as written; only empty fields are missing.
            df = pd.read_csv(p, dtype=dict(dtype) if dtype else None, keep_default_na=False,
                             na_values=[""], nrows=input_limits.MAX_TABLE_ROWS + 1, sep=sep,
                             decimal=decimal)
    except pd.errors.EmptyDataError as exc:
        raise InputFileError(f"{what} file {str(p)!r} is empty; expected a {kind} table with "
                             "a header line") from exc
    except Exception as exc:  # pandas/pyarrow raise many types for a malformed file
        raise InputFileError(f"cannot read {what} file {str(p)!r} as {kind}: {exc}") from exc
    check_rows(len(df), what, str(p), len(df.columns))
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _relabel(exc: ValidationError, parquet: bool) -> ValidationError:
    """Add the file line (header = line 1) to a row number from :func:`twin.schema.validate`."""
    row = exc.row
    if str(row).isdigit() and not parquet:
        row = f"{int(str(row))} (file line {int(str(row)) + 2})"
    msg = str(exc).split(": ", 1)[1] if ": " in str(exc) else str(exc)
    return ValidationError(exc.table, msg, row, exc.column)


_ROW = re.compile(r"^(\d+)(.*)$")


def file_lines(exc: ValidationError, files: Mapping[str, Path | None]) -> ValidationError:
    """A table error with rows as a spreadsheet shows them: the file's line (header = line 1)
    and the file's name, for CSV tables (Parquet has no lines: its 1-based row)."""
    path = files.get(exc.table)
    if path is None:
        return exc

    def label(row: Any) -> Any:
        m = _ROW.match(str(row)) if row is not None else None
        if m is None:
            return row
        pos = int(m.group(1))
        where = f"row {pos + 1}" if _is_parquet(path) else f"line {pos + 2}"
        return f"{where} of {path.name!r}{m.group(2)}"

    def relabel_text(text: str) -> str:
        m = re.match(rf"^{re.escape(exc.table)}, row (\d+)", text)
        if m is None:
            return text
        return f"{exc.table}, {label(m.group(1))}" + text[m.end():]

    msg = str(exc).split(": ", 1)[1] if ": " in str(exc) else str(exc)
    msg = re.sub(rf"{re.escape(exc.table)}, row (\d+)",
                 lambda m: f"{exc.table}, {label(m.group(1))}", msg)
    out = ValidationError(exc.table, msg, label(exc.row), exc.column)
    out.problems = [relabel_text(t) for t in exc.problems]
    return out


# --- OpenCelliD ------------------------------------------------------------------------------
def opencellid_rows(raw: pd.DataFrame, parquet: bool = False) -> pd.DataFrame:
    """Validate the rows of an OpenCelliD table (either layout).

    Returns the typed rows (``lon``, ``lat``, ``cell``, ``mcc``, ``net``, ``radio`` plus the
    file's other columns) with ``is_lte`` and ``skip_reason`` ('' for LTE rows) added.

    Raises:
        ValidationError: missing columns, a non-numeric, missing or out-of-range lon/lat/cell
            (naming the row and file line), or no rows at all.
    """
    df = raw.rename(columns={c: _ALIASES.get(c.lower(), c.lower() if c.lower() in
                                             ("lon", "lat", "cell", "mcc", "net", "radio")
                                             else c) for c in raw.columns})
    missing = [c for c in ("lon", "lat", "cell") if c not in df.columns]
    if missing:
        raise ValidationError(
            "opencellid", f"missing column(s) {missing}; an OpenCelliD cell list needs lon, lat "
            f"and cell (or cell_eci), got columns {list(raw.columns)}")
    if len(df) == 0:
        raise ValidationError("opencellid", "the file has a header but no cell rows")
    if df.columns.duplicated().any():
        raise ValidationError("opencellid", f"duplicate column names in {list(raw.columns)}")
    try:
        rows = validate(df, OPENCELLID)
    except ValidationError as exc:
        raise _relabel(exc, parquet) from None
    radio = rows["radio"].str.strip().str.upper()
    cell = rows["cell"].to_numpy()
    given = radio != "-"
    is_lte = np.where(given, radio == "LTE", (cell > MAX_LEGACY_CELL_ID) & (cell <= MAX_ECI))
    reason = np.full(len(rows), "", dtype=object)
    reason[given & (radio != "LTE")] = "not LTE (radio column)"
    reason[~given & (cell <= MAX_LEGACY_CELL_ID)] = "not LTE (GSM/UMTS cell id <= 65535)"
    reason[~given & (cell > MAX_ECI)] = "not LTE (id above the 28-bit ECI range, e.g. NR)"
    bad_eci = (given & (radio == "LTE") & (cell > MAX_ECI)).to_numpy()
    reason[bad_eci] = "LTE id above the 28-bit ECI range"
    is_lte = is_lte & ~bad_eci
    enb = pd.Series(np.where(is_lte, cell // 256, -1), index=rows.index)
    point = rows.loc[is_lte, ["lon", "lat", "mcc", "net"]].assign(enb=enb[is_lte])
    n_enb = point.groupby(["lon", "lat"])["enb"].transform("nunique")
    placeholder = np.zeros(len(rows), dtype=bool)
    placeholder[np.flatnonzero(is_lte)[(n_enb >= PLACEHOLDER_MIN_ENBS).to_numpy()]] = True
    reason[placeholder] = (f"placeholder position (identical coordinates for >= "
                           f"{PLACEHOLDER_MIN_ENBS} eNBs)")
    is_lte = is_lte & ~placeholder
    rows["is_lte"] = is_lte
    rows["skip_reason"] = reason
    return rows


def read_opencellid(path: str | Path, link_radius_m: float = ENB_LINK_RADIUS_M,
                    cell_defaults: Mapping[str, Any] | None = None,
                    name: str | None = None) -> ImportResult:
    """Import an OpenCelliD cell list as a network of estimated sites (see module docstring).

    Args:
        path: CSV or Parquet file in one of the two OpenCelliD layouts.
        link_radius_m: clustering link radius within an eNB.
        cell_defaults: overrides of :data:`DEFAULT_CELL` (``n_prb`` follows ``bandwidth_mhz``
            by TS 36.101 unless given).
        name: network name (default: the file's stem).

    Raises:
        InputFileError: unreadable or empty file.
        ValidationError: bad columns or rows (naming row and file line), no LTE cell.
    """
    p = Path(path)
    raw = read_table_file(p, "OpenCelliD")
    rows = opencellid_rows(raw, parquet=_is_parquet(p))
    skipped = rows.loc[~rows["is_lte"], "skip_reason"].value_counts().to_dict()
    lte = rows[rows["is_lte"]].reset_index().rename(columns={"index": "row"})
    if len(lte) == 0:
        raise ValidationError("opencellid", f"none of the {len(rows)} rows is an LTE cell "
                              f"({skipped}); the importer models LTE carriers only")
    # One cell per (MCC, MNC, ECI): OpenCelliD lists a cell once per area code it was heard in.
    key = ["mcc", "net", "cell"]
    merged = lte.groupby(key, as_index=False, sort=False).agg(
        lon=("lon", "mean"), lat=("lat", "mean"), row=("row", "first"))
    n_dup = len(lte) - len(merged)
    check_network_size(len(merged), 0, f"OpenCelliD file {str(p)!r}")
    origin = Origin(float(merged["lat"].mean()), float(merged["lon"].mean()))
    warnings = [f"skipped {int(n)} of {len(rows)} rows: {reason}"
                for reason, n in skipped.items()]
    if n_dup:
        warnings.append(_merge_warning(lte, key, origin, n_dup, _is_parquet(p)))
    x, y = origin.to_local(merged["lat"], merged["lon"])
    _check_extent(x, y, merged["row"].to_numpy(), _is_parquet(p))
    plmn = merged["mcc"].astype(str) + "-" + merged["net"].astype(str)
    several = plmn.nunique() > 1
    prefix = (plmn + ":") if several else ""
    eci = merged["cell"].to_numpy(dtype=np.int64)
    fixes = pd.DataFrame({
        "cell_id": (prefix + merged["cell"].astype(str)).to_numpy(),
        "group": (prefix + "eNB" + pd.Series(eci // 256).astype(str)).to_numpy(),
        "x_m": x, "y_m": y})
    carrier_note = operator_carriers(fixes, plmn, merged["net"], eci, cell_defaults)
    net = estimated_network(
        fixes, origin, link_radius_m, cell_defaults, name or p.stem,
        notes=(opencellid_note(link_radius_m), *carrier_note))
    return ImportResult(net, str(p), len(rows), {str(k): int(v) for k, v in skipped.items()},
                        n_dup, link_radius_m, tuple(warnings))


def _file_line(row: int, parquet: bool) -> str:
    return f"row {row}" if parquet else f"file line {row + 2}"


def _merge_warning(lte: pd.DataFrame, key: list[str], origin: Origin, n_dup: int,
                   parquet: bool) -> str:
    """Say how many rows were merged and how far apart the most scattered cell's rows lay;
    refuse rows of one cell farther apart than :data:`MAX_EXTENT_M` (no cell is heard that
    far apart: two cells share an id by mistake)."""
    x, y = origin.to_local(lte["lat"], lte["lon"])
    pos = lte[[*key, "row"]].assign(x=x, y=y)
    g = pos.groupby(key, sort=False).agg(n=("x", "size"), x0=("x", "min"), x1=("x", "max"),
                                         y0=("y", "min"), y1=("y", "max"),
                                         first=("row", "min"), last=("row", "max"))
    g = g[g["n"] > 1]
    span = np.hypot(g["x1"] - g["x0"], g["y1"] - g["y0"])
    worst = span.idxmax()
    w = g.loc[worst]
    cell = worst[-1] if isinstance(worst, tuple) else worst
    where = (f"{_file_line(int(w['first']), parquet)} and {_file_line(int(w['last']), parquet)}")
    if span[worst] > MAX_EXTENT_M:
        raise ValidationError(
            "opencellid", f"cell id {cell} appears at positions {span[worst] / 1000:,.0f} km "
            f"apart ({where}); one cell is not heard that far apart (limit "
            f"{MAX_EXTENT_M / 1000:.0f} km): fix the ids or drop one of the rows",
            int(w["last"]), "cell")
    return (f"merged {n_dup} duplicate rows (same MCC, MNC and cell id) into {len(g)} cells at "
            f"their mean position; the most scattered was cell {cell} ({int(w['n'])} rows "
            f"{span[worst]:,.0f} m apart, {where})")


def operator_carriers(fixes: pd.DataFrame, plmn: pd.Series, mnc: pd.Series,
                      eci: NDArray[np.int64], cell_defaults: Mapping[str, Any] | None
                      ) -> tuple[str, ...]:
    """Give each operator its own carrier (``fixes["fc_ghz"]``, in place) and say so: one
    carrier per PLMN when the list has several, :data:`UNKNOWN_OPERATOR_CARRIERS` spread by
    eNB id when it has no operator codes; a list of one operator, or an explicit ``fc_ghz``
    in ``cell_defaults``, keeps the default carrier for every cell."""
    if cell_defaults is not None and "fc_ghz" in cell_defaults:
        return ()
    ch = np.array(OPERATOR_CARRIERS_GHZ)
    if (mnc.to_numpy() < 0).all():
        k = UNKNOWN_OPERATOR_CARRIERS
        fixes["fc_ghz"] = ch[(eci // 256) % k]
        return (f"operators unknown (no MNC): eNBs spread by id over {k} carriers "
                f"({', '.join(f'{f:g}' for f in ch[:k])} GHz) as {k} operators' interleaved "
                "sites; give the operator codes (mcc, net) to keep the real operators apart",)
    codes = sorted(plmn.unique())
    if len(codes) < 2:
        return ()
    idx = plmn.map({c: i for i, c in enumerate(codes)}).to_numpy()
    fixes["fc_ghz"] = ch[idx % ch.size]
    return ("one 20 MHz carrier per operator (" + ", ".join(
        f"{c}: {ch[i % ch.size]:g} GHz" for i, c in enumerate(codes)) + "): operators do "
            "not interfere with each other (a bin's traffic still goes to its strongest cell of "
            "any operator: the demand is not split by operator)",)


def opencellid_note(link_radius_m: float) -> str:
    return ("site positions and azimuths are ESTIMATED: sites are centroids of crowd-sourced "
            f"OpenCelliD cell fixes grouped by eNB id (link radius {link_radius_m:.0f} m), "
            "not surveyed antenna positions; sectors are spread evenly and oriented towards "
            "their cells' fixes; power, carrier, height and tilt are defaults")


def _check_extent(x: NDArray[np.float64], y: NDArray[np.float64], rows: NDArray[np.int64],
                  parquet: bool) -> None:
    d = np.hypot(x - np.median(x), y - np.median(y))
    far = int(np.argmax(d))
    if d[far] > MAX_EXTENT_M:
        line = "" if parquet else f" (file line {int(rows[far]) + 2})"
        raise ValidationError(
            "opencellid", f"cell is {d[far] / 1000:.0f} km from the median position of the "
            f"list; import one city or region (at most {MAX_EXTENT_M / 1000:.0f} km), e.g. "
            "filter the file by a bounding box", f"{int(rows[far])}{line}", "lon")


def cluster_sites(x_m: NDArray[np.float64], y_m: NDArray[np.float64],
                  group: NDArray[Any], link_radius_m: float) -> NDArray[np.int64]:
    """Site label ``[n]`` of each fix: connected components of the graph linking fixes of the
    same group (eNB) that are at most ``link_radius_m`` apart."""
    xy = np.column_stack([x_m, y_m])
    n = len(xy)
    pairs = cKDTree(xy).query_pairs(link_radius_m, output_type="ndarray")  # [n_pair, 2]
    codes = pd.factorize(pd.Series(group))[0]
    pairs = pairs[codes[pairs[:, 0]] == codes[pairs[:, 1]]]
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.int64)


def spread_azimuths(x_m: NDArray[np.float64], y_m: NDArray[np.float64],
                    site: NDArray[np.int64], site_x_m: NDArray[np.float64],
                    site_y_m: NDArray[np.float64],
                    slot_deg: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """Azimuth ``[n]`` (deg, [0, 360)) of each cell ``[n]`` of sites ``[n_site]``.

    Without ``slot_deg``: a site's ``n`` sectors are spread evenly (``k 360/n``) in the order
    of the bearings of their fixes from the site; a one-cell site gets 0 deg. With
    ``slot_deg`` (each cell's nominal direction in its site's fan, e.g. ``120 (sector - 1)``
    from a known local-cell-id scheme): the slots are kept, and a site without bearing
    information takes the circular mean rotation of the sites that have it. Either way the
    fan is rotated to the circular mean of ``bearing - slot`` over the site's fixes.
    """
    dx = x_m - site_x_m[site]
    dy = y_m - site_y_m[site]
    bearing = np.degrees(np.arctan2(dx, dy)) % 360.0  # clockwise from north
    n_site = len(site_x_m)
    if slot_deg is None:
        n_per = np.bincount(site, minlength=n_site)
        order = np.lexsort((bearing, site))
        rank = np.empty(len(site), dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(n_per)[:-1]])
        rank[order] = np.arange(len(site)) - np.repeat(starts, n_per)
        slot = 360.0 * rank / n_per[site]
    else:
        slot = np.asarray(slot_deg, dtype=float) % 360.0
    # A fix on the centroid (single-cell site) says nothing about the bearing.
    w = (np.hypot(dx, dy) > 1.0).astype(float)
    off = np.radians(bearing - slot)
    c = np.bincount(site, weights=w * np.cos(off), minlength=n_site)
    s = np.bincount(site, weights=w * np.sin(off), minlength=n_site)
    known = np.hypot(c, s) > 1e-9
    fallback = 0.0
    if slot_deg is not None and known.any():
        u = np.exp(1j * np.arctan2(s[known], c[known]))
        fallback = float(np.degrees(np.angle(u.mean())))
    rot = np.where(known, np.degrees(np.arctan2(s, c)), fallback)
    az = np.round((rot[site] + slot) % 360.0, 1)
    return np.where(az >= 360.0, 0.0, az)


def cell_parameters(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """:data:`DEFAULT_CELL` with ``overrides``; ``n_prb`` follows the bandwidth (TS 36.101)."""
    params = dict(DEFAULT_CELL)
    if overrides:
        params.update(overrides)
        if "bandwidth_mhz" in overrides and "n_prb" not in overrides:
            bw = float(overrides["bandwidth_mhz"])
            if bw not in LTE_PRB_BY_BANDWIDTH_MHZ:
                raise ValidationError("cells", f"no LTE PRB count for {bw:g} MHz; use one of "
                                      f"{sorted(LTE_PRB_BY_BANDWIDTH_MHZ)} or give n_prb",
                                      column="bandwidth_mhz")
            params["n_prb"] = LTE_PRB_BY_BANDWIDTH_MHZ[bw]
    return params


def estimated_network(fixes: pd.DataFrame, origin: Origin,
                      link_radius_m: float = ENB_LINK_RADIUS_M,
                      cell_defaults: Mapping[str, Any] | None = None, name: str = "imported",
                      notes: tuple[str, ...] = ()) -> Network:
    """A network of estimated sites from cell fixes.

    Args:
        fixes: one row per cell: ``cell_id`` (unique), ``group`` (cells of one group, e.g. an
            eNB, may share a site), ``x_m``, ``y_m`` (local frame of ``origin``), optionally
            ``slot_deg`` (nominal direction in the site's fan, see :func:`spread_azimuths`).
        origin: the local frame's WGS84 origin.
        link_radius_m: clustering link radius (see :func:`cluster_sites`).
        cell_defaults: overrides of :data:`DEFAULT_CELL`.
        name, notes: the network's label and notes.

    Site ids are the group name, with ``-1``, ``-2``... when a group splits into several sites.
    """
    if not link_radius_m > 0:
        raise ValidationError("import", f"link radius must be > 0 m, got {link_radius_m}")
    x = fixes["x_m"].to_numpy(dtype=float)
    y = fixes["y_m"].to_numpy(dtype=float)
    label = cluster_sites(x, y, fixes["group"].to_numpy(), link_radius_m)
    sites = pd.DataFrame({"label": label, "group": fixes["group"].to_numpy(), "x": x, "y": y})
    per_site = sites.groupby("label", sort=True).agg(group=("group", "first"),
                                                      x_m=("x", "mean"), y_m=("y", "mean"))
    # Number the parts of split groups west to east, so that ids do not depend on row order.
    per_site = per_site.sort_values(["group", "x_m", "y_m"])
    part = per_site.groupby("group").cumcount() + 1
    n_parts = per_site.groupby("group")["x_m"].transform("size")
    per_site["site_id"] = np.where(n_parts > 1, per_site["group"] + "-" + part.astype(str),
                                   per_site["group"])
    site_pos = per_site.sort_index()  # index = label 0..n_site-1
    slot = fixes["slot_deg"].to_numpy(dtype=float) if "slot_deg" in fixes.columns else None
    az = spread_azimuths(x, y, label, site_pos["x_m"].to_numpy(), site_pos["y_m"].to_numpy(),
                         slot)
    lat, lon = origin.to_wgs84(site_pos["x_m"], site_pos["y_m"])
    sites_tab = pd.DataFrame({
        "site_id": site_pos["site_id"].to_numpy(), "x_m": site_pos["x_m"].round(1).to_numpy(),
        "y_m": site_pos["y_m"].round(1).to_numpy(), "lat_deg": np.round(lat, 7),
        "lon_deg": np.round(lon, 7), "estimated": True,
        "name": [f"estimated from {k} cell fix{'es' if k > 1 else ''}"
                 for k in np.bincount(label, minlength=len(site_pos))]})
    params = cell_parameters(cell_defaults)
    cells_tab = pd.DataFrame({"cell_id": fixes["cell_id"].astype(str).to_numpy(),
                              "site_id": site_pos["site_id"].to_numpy()[label],
                              "azimuth_deg": az})
    for k, v in params.items():
        cells_tab[k] = v
    if "fc_ghz" in fixes.columns:  # per-operator carriers (operator_carriers)
        cells_tab["fc_ghz"] = fixes["fc_ghz"].to_numpy(dtype=float)
    sites_tab = sites_tab.sort_values("site_id", kind="stable").reset_index(drop=True)
    cells_tab = cells_tab.sort_values(["site_id", "azimuth_deg"],
                                      kind="stable").reset_index(drop=True)
    return Network.from_tables(sites_tab, cells_tab, origin=origin, name=name,
                               notes=tuple(notes))


# --- the project's tables ----------------------------------------------------------------------
_TEXT = {"site_id": str, "cell_id": str, "candidate_id": str, "name": str, "antenna": str,
         "scenario": str}


def network_to_dict(network: Network) -> dict[str, Any]:
    """The network as one JSON-able document (tables as lists of row objects)."""
    def records(df: pd.DataFrame) -> list[dict[str, Any]]:
        return [{k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
                for r in df.to_dict(orient="records")]

    origin = None if network.origin is None else {"lat_deg": network.origin.lat_deg,
                                                   "lon_deg": network.origin.lon_deg}
    return {"format": DOCUMENT_FORMAT, "version": SUPPORTED_VERSIONS[-1], "name": network.name,
            "notes": list(network.notes), "origin": origin,
            "sites": records(network.sites), "cells": records(network.cells),
            "candidates": records(network.candidates)}


def network_from_dict(doc: Any, source: str = "document") -> Network:
    """Inverse of :func:`network_to_dict`; tables are validated by :mod:`twin.schema`."""
    if not isinstance(doc, dict):
        raise InputFileError(f"{source}: expected a JSON object with 'sites' and 'cells' lists, "
                             f"got {type(doc).__name__}")
    # Both keys are optional (hand-written documents), but a stated one must be ours.
    if "format" in doc and doc["format"] != DOCUMENT_FORMAT:
        shown = json.dumps(doc["format"])[:64]
        raise InputFileError(f"{source}: 'format' is {shown}; this reads {DOCUMENT_FORMAT!r} "
                             "documents")
    if "version" in doc and (isinstance(doc["version"], bool) or doc["version"] not in
                             SUPPORTED_VERSIONS):
        shown = json.dumps(doc["version"])[:64]
        raise InputFileError(f"{source}: document version {shown} is not supported; this "
                             "celltwin reads version(s) "
                             f"{', '.join(map(str, SUPPORTED_VERSIONS))}")
    for key in ("sites", "cells"):
        if key not in doc:
            raise InputFileError(f"{source}: missing {key!r}; expected {{\"sites\": [...], "
                                 "\"cells\": [...], \"candidates\": [...]}")
    tables: dict[str, pd.DataFrame] = {}
    for key in ("sites", "cells", "candidates"):
        rows = doc.get(key, [])
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise InputFileError(f"{source}: {key!r} must be a list of objects (one per row)")
        if key != "sites":
            check_network_size(len(rows) if key == "cells" else 0,
                               len(rows) if key == "candidates" else 0, source)
        check_rows(len(rows), key, source)
        for i, r in enumerate(rows):
            nested = next((k for k, v in r.items() if isinstance(v, dict | list)), None)
            if nested is not None:
                raise InputFileError(f"{source}: {key!r} row {i}, column {str(nested)[:64]!r}: "
                                     f"expected one value, got a "
                                     f"{type(r[nested]).__name__}")
        tables[key] = pd.DataFrame(rows)
    origin = doc.get("origin")
    org: Origin | None = None
    if origin is not None:
        try:
            org = Origin(float(origin["lat_deg"]), float(origin["lon_deg"]))
        except (TypeError, KeyError, ValueError) as exc:
            raise InputFileError(f"{source}: 'origin' must be {{\"lat_deg\": .., \"lon_deg\": ..}}"
                                 ) from exc
        if not (-90 <= org.lat_deg <= 90 and -180 <= org.lon_deg <= 180):
            raise InputFileError(f"{source}: origin {origin} is not a WGS84 position")
    notes = doc.get("notes", [])
    if not isinstance(notes, list):
        raise InputFileError(f"{source}: 'notes' must be a list of strings")
    cands = tables["candidates"] if len(tables["candidates"]) else None
    net = Network.from_tables(tables["sites"], tables["cells"], cands, origin=org,
                              name=str(doc.get("name") or Path(source).stem),
                              notes=tuple(str(n) for n in notes))
    return _with_estimated_note(net)


def _with_estimated_note(net: Network) -> Network:
    """A table import keeps its notes; if sites are marked estimated and no note says so, add
    one (CSV/Parquet tables carry no notes)."""
    n_est = int(net.sites["estimated"].sum())
    if n_est == 0 or any("estimated" in n.lower() for n in net.notes):
        return net
    note = f"{n_est} of {len(net.sites)} site positions are marked estimated"
    return Network(net.sites, net.cells, net.candidates, net.origin, net.name,
                   (*net.notes, note))


def read_tables(path: str | Path, cells_path: str | Path | None = None,
                candidates_path: str | Path | None = None) -> Network:
    """Read a network in the project's format: a JSON document, or sites + cells (+ candidates)
    CSV/Parquet files.

    Raises:
        InputFileError: unreadable file, malformed JSON, CSV/Parquet sites without a cells file.
        ValidationError: a table fails its schema (names table, row, column).
    """
    p = Path(path)
    if p.suffix.lower() == ".json":
        if cells_path is not None or candidates_path is not None:
            raise InputFileError(f"{str(p)!r} is a JSON network document that holds all tables; "
                                 "do not give separate cells/candidates files")
        if not p.is_file():
            raise InputFileError(f"network file {str(p)!r} not found")
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputFileError(f"network file {str(p)!r} is not valid JSON: {exc}") from exc
        return network_from_dict(parse_json(text, f"network file {str(p)!r}"), str(p))
    if cells_path is None:
        raise InputFileError(f"{str(p)!r} is a sites table; give the 'cells' table "
                             "too, or use a JSON network document")
    sites = read_table_file(p, "sites", _TEXT)
    cells = read_table_file(cells_path, "cells", _TEXT)
    cands = None if candidates_path is None else read_table_file(candidates_path, "candidates",
                                                                 _TEXT)
    check_network_size(len(cells), 0 if cands is None else len(cands), f"network {str(p)!r}")
    files = {"sites": Path(path), "cells": Path(cells_path), "candidates":
             None if candidates_path is None else Path(candidates_path)}
    try:
        net = Network.from_tables(sites, cells, cands, name=p.stem)
    except ValidationError as exc:
        raise file_lines(exc, files) from None
    return _with_estimated_note(net)


def write_tables(network: Network, path: str | Path, cells_path: str | Path | None = None,
                 candidates_path: str | Path | None = None,
                 traffic_doc: dict[str, Any] | None = None) -> list[Path]:
    """Write a network in the project's format: ``path`` ``.json`` (one document with name,
    notes and origin), or CSV/Parquet tables (sites to ``path``, cells to ``cells_path``,
    candidates to ``candidates_path`` if given). Returns the paths written."""
    p = Path(path)
    if p.suffix.lower() == ".json":
        doc = network_to_dict(network)
        if traffic_doc is not None:
            doc["traffic"] = traffic_doc
        p.write_text(json.dumps(doc, indent=1, allow_nan=False), encoding="utf-8")
        return [p]
    if cells_path is None:
        raise InputFileError("writing CSV/Parquet tables needs a path for the cells table too")
    if traffic_doc is not None:
        raise InputFileError("a traffic map is kept in a JSON network document; write the "
                             "network as .json")
    out: list[Path] = []
    for df, target in ((network.sites, p), (network.cells, cells_path),
                       (network.candidates, candidates_path)):
        if target is None:
            continue
        t = Path(target)
        if _is_parquet(t):
            df.to_parquet(t, index=False)
        else:
            df.to_csv(t, index=False)
        out.append(t)
    return out


def sniff_format(path: str | Path) -> Literal["opencellid", "tables"]:
    """``tables`` for JSON or a file with a ``site_id`` column, ``opencellid`` for a file with
    ``lon``/``lat`` and ``cell``/``cell_eci``; raises InputFileError otherwise."""
    p = Path(path)
    if p.suffix.lower() == ".json":
        return "tables"
    cols = {c.lower() for c in read_table_file(p, "network").columns}
    if "site_id" in cols:
        return "tables"
    if {"lon", "lat"} <= cols and ({"cell", "cell_eci"} & cols):
        return "opencellid"
    raise InputFileError(f"cannot tell the format of {str(p)!r} (columns {sorted(cols)}); give "
                         "the format: 'opencellid' or 'tables'")


def load_network(path: str | Path, fmt: TableFormat = "auto",
                 cells_path: str | Path | None = None,
                 candidates_path: str | Path | None = None,
                 link_radius_m: float = ENB_LINK_RADIUS_M) -> ImportResult:
    """Read a network from any supported format (``fmt='auto'`` sniffs it)."""
    kind = sniff_format(path) if fmt == "auto" else fmt
    if kind == "opencellid":
        if cells_path is not None:
            raise InputFileError("a 'cells' table is for project tables; an OpenCelliD file is one table")
        return read_opencellid(path, link_radius_m)
    if kind != "tables":
        raise InputFileError(f"unknown format {fmt!r}; use opencellid or tables")
    net = read_tables(path, cells_path, candidates_path)
    n_rows = len(net.cells)
    return ImportResult(net, str(path), n_rows, traffic_doc=read_traffic_section(path))


def read_traffic_section(path: str | Path) -> dict[str, Any] | None:
    """The ``traffic`` section of a JSON network document, if it has one."""
    p = Path(path)
    if p.suffix.lower() != ".json":
        return None
    doc = parse_json(p.read_text(encoding="utf-8"), f"network file {str(p)!r}")
    section = doc.get("traffic") if isinstance(doc, dict) else None
    if section is not None and not isinstance(section, dict):
        raise InputFileError(f"{str(p)!r}: 'traffic' must be an object (a traffic map)")
    return section

