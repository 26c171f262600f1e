"""Schemas of the network tables: sites, cells and candidate small-cell locations.

Positions are in a local metric frame (``x_m`` east, ``y_m`` north, metres from the network's
origin); ``lat_deg``/``lon_deg`` are kept beside them for maps when the origin is known.
"""

from __future__ import annotations

from twin.schema import Column, TableSchema

ANTENNAS = ("macro3gpp", "omni")
SCENARIOS = ("uma", "umi", "rma")

SITES = TableSchema(
    name="sites",
    key="site_id",
    columns=(
        Column("site_id", "str", "unique site id"),
        Column("x_m", "float", "east of the origin", min=-1e6, max=1e6),
        Column("y_m", "float", "north of the origin", min=-1e6, max=1e6),
        Column("lat_deg", "float", "WGS84 latitude (maps only)", min=-90, max=90, default=0.0),
        Column("lon_deg", "float", "WGS84 longitude (maps only)", min=-180, max=180, default=0.0),
        Column("estimated", "bool", "position estimated (e.g. clustered crowd-sourced fixes)",
               default=False),
        Column("name", "str", "free label", default="-"),
    ),
)

CELLS = TableSchema(
    name="cells",
    key="cell_id",
    foreign_keys={"site_id": ("sites", "site_id")},
    columns=(
        Column("cell_id", "str", "unique cell id"),
        Column("site_id", "str", "site the cell belongs to"),
        Column("azimuth_deg", "float", "boresight bearing, clockwise from north", min=0, max=360,
               max_exclusive=True, default=0.0),
        Column("mech_tilt_deg", "float", "mechanical downtilt", min=-20, max=30, default=0.0),
        Column("elec_tilt_deg", "float", "electrical downtilt", min=-10, max=30, default=6.0),
        Column("tx_power_dbm", "float", "total transmit power over the channel", min=0, max=60),
        Column("fc_ghz", "float", "carrier centre frequency", min=0.4, max=100),
        Column("bandwidth_mhz", "float", "channel bandwidth", min=1.4, max=400),
        Column("n_prb", "int", "physical resource blocks of the channel (TS 36.101/38.101)",
               min=6, max=3300),
        Column("scs_khz", "float", "subcarrier spacing; a PRB spans 12 subcarriers", default=15.0,
               allowed=(15.0, 30.0, 60.0, 120.0)),
        Column("mimo_layers", "int", "spatial layers (multiplies spectral efficiency)", min=1,
               max=8, default=2),
        Column("cio_db", "float", "cell individual offset for association", min=-24, max=24,
               default=0.0),
        Column("height_m", "float", "antenna height above ground", min=1, max=300),
        Column("antenna", "str", "antenna pattern", default="macro3gpp", allowed=ANTENNAS),
        Column("antenna_gain_dbi", "float", "maximum antenna gain", min=-10, max=30,
               default=17.0),
        Column("h_beamwidth_deg", "float", "horizontal half-power beamwidth", min=5, max=360,
               default=65.0),
        Column("v_beamwidth_deg", "float", "vertical half-power beamwidth", min=2, max=180,
               default=10.0),
        Column("scenario", "str", "TR 38.901 propagation scenario", default="uma",
               allowed=SCENARIOS),
    ),
)

CANDIDATES = TableSchema(
    name="candidates",
    key="candidate_id",
    columns=(
        Column("candidate_id", "str", "unique id of a candidate location for a new small cell"),
        Column("x_m", "float", "east of the origin", min=-1e6, max=1e6),
        Column("y_m", "float", "north of the origin", min=-1e6, max=1e6),
        Column("lat_deg", "float", "WGS84 latitude (maps only)", min=-90, max=90, default=0.0),
        Column("lon_deg", "float", "WGS84 longitude (maps only)", min=-180, max=180, default=0.0),
        Column("height_m", "float", "mounting height", min=1, max=100, default=6.0),
        Column("name", "str", "free label", default="-"),
    ),
)

#: Columns whose change moves a cell's link gains (geometry, pattern, propagation). A change
#: of any other column (power, CIO, bandwidth, layers) reuses the cached gains.
GEOMETRY_COLUMNS = (
    "site_id", "azimuth_deg", "mech_tilt_deg", "elec_tilt_deg", "fc_ghz", "height_m", "antenna",
    "antenna_gain_dbi", "h_beamwidth_deg", "v_beamwidth_deg", "scenario",
)
