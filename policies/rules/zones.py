"""``forbidden_zone``: GeoJSON polygons where no new site may go (schools, hospitals,
heritage areas). A candidate location inside a zone may not receive a small cell; so may not
one whose position cannot be placed in the zone's frame (WGS84 zones on a network without a
geographic origin): the rule fails closed."""

from __future__ import annotations

import weakref
from typing import Any, Literal

import numpy as np
from pydantic import PrivateAttr, model_validator

from actions.models import ActionBase, AddSmallCell
from policies.action_bounds import BoundsBuilder
from policies.geometry import Crs, Zone, inside, parse_zones, positions
from policies.rules.base import RuleBase
from twin.network import Network


class ZonedRule(RuleBase):
    """A rule that holds GeoJSON ``zones`` in ``crs`` (local metres or WGS84 lon/lat)."""

    zones: dict[str, Any] | None = None
    crs: Crs = "local_m"
    _parsed: list[Zone] = PrivateAttr(default_factory=list)
    # (id(network), what) -> (weak ref to the network, membership): per-action checks run once
    # per candidate, and placing every cell is a table join; a network never changes in place.
    _memo: dict[tuple[int, str], tuple[Any, dict[str, str | None]]] = PrivateAttr(
        default_factory=dict)

    @model_validator(mode="after")
    def _geojson(self) -> ZonedRule:
        if self.zones is not None:
            self._parsed = parse_zones(self.zones, self.crs)
        return self

    def zone_of(self, network: Network, what: Literal["candidates", "cells"]
                ) -> dict[str, str | None]:
        """id -> name of the first zone holding it ("" if unnamed), ``"?"`` when its position
        is unknown in this crs, None when outside every zone. Without zones: everything is
        inside (a cap that applies everywhere)."""
        key = (id(network), what)
        memo = self._memo.get(key)
        if memo is not None and memo[0]() is network:
            return memo[1]
        out = self._zone_of(network, what)
        if len(self._memo) >= 8:
            self._memo.clear()
        self._memo[key] = (weakref.ref(network), out)
        return out

    def _zone_of(self, network: Network, what: Literal["candidates", "cells"]
                 ) -> dict[str, str | None]:
        ids, xy, known = positions(network, what, self.crs)
        if self.zones is None:
            return dict.fromkeys(ids, "everywhere")
        hit: list[str | None] = [None] * len(ids)
        for k, zone in enumerate(self._parsed):
            mask = inside(xy, zone) if len(xy) else np.zeros(0, dtype=bool)
            label = zone.name or (self.id if len(self._parsed) == 1 else f"{self.id}[{k}]")
            for j in np.flatnonzero(mask):
                if hit[j] is None:
                    hit[j] = label
        for j in np.flatnonzero(~known):
            hit[j] = "?"
        return dict(zip(ids, hit, strict=True))


class ForbiddenZoneRule(ZonedRule):
    """No ``add_small_cell`` at a candidate inside ``zones``."""

    kind: Literal["forbidden_zone"] = "forbidden_zone"
    zones: dict[str, Any]

    per_action = True

    def narrow(self, bounds: BoundsBuilder, network: Network) -> None:
        for cid, zone in self.zone_of(network, "candidates").items():
            if zone is not None:
                bounds.forbidden_candidates.add(cid)
                bounds.deny_target("add_small_cell", cid)

    def action_problems(self, action: ActionBase, network: Network) -> list[str]:
        if not isinstance(action, AddSmallCell):
            return []
        cid = action.candidate_id
        zone = self.zone_of(network, "candidates").get(cid)
        if zone is None:
            return []
        if zone == "?":
            return [f"candidate {cid} cannot be placed in WGS84 (the network has no origin "
                    f"and the candidate no lat/lon), so it cannot be shown to lie outside "
                    f"the forbidden zones"]
        return [f"candidate {cid} lies in forbidden zone {zone!r}"]
