"""Networks with named sites for the intent parsers' tests and evaluation: the built-in
scenarios' tables with landmark names on some sites (the shipped scenarios name none)."""

from __future__ import annotations

from twin.network import Network
from twin.scenarios import load_scenario

#: scenario -> site id -> name
SITE_NAMES: dict[str, dict[str, str]] = {
    "hotspot": {"S01": "Stadium North", "S02": "Stadium South", "S05": "City Hospital",
                "S07": "Ospedale Maggiore", "S09": "Central Station", "S12": "University Campus",
                "S14": "Fiera Milano", "S16": "Klinikum Schwabing", "S18": "Old Town"},
    "calib-uma": {"S03": "Allianz Arena", "S04": "Hauptbahnhof", "S06": "Klinikum Nord",
                  "S08": "Messe Riem", "S11": "Krankenhaus Sankt Maria", "S13": "Marienplatz"},
    "calib-umi": {"S02": "Stadio San Siro", "S05": "Ospedale Niguarda", "S06": "Policlinico",
                  "S10": "Stazione Centrale", "S15": "Duomo", "S17": "Universita Bicocca"},
}


def named_network(scenario: str) -> Network:
    """The scenario's network with the names of :data:`SITE_NAMES` (others keep theirs)."""
    net = load_scenario(scenario).network
    names = SITE_NAMES.get(scenario, {})
    sites = net.sites.copy()
    if "name" in sites.columns:
        sites["name"] = sites["name"].astype(object)
    sites["name"] = [names.get(str(s), str(n)) for s, n in
                     zip(sites["site_id"], sites.get("name", sites["site_id"]), strict=True)]
    return Network.from_tables(sites, net.cells, net.candidates, net.origin,
                               name=f"{net.name}-named", notes=net.notes)
