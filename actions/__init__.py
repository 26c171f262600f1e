"""The action vocabulary, the layer between the twin and the policy engine / planner.

- :mod:`actions.models`: the typed action models (one per ``kind``), their union and parsing;
- :mod:`actions.sites`: what actions build (new small-cell sites, sector splits);
- :mod:`actions.apply`: applying a plan's actions to a network;
- :mod:`actions.costs`: the cost catalogue (``costs_default.yaml`` or a user file);
- :mod:`actions.pricing`: the price of one action and :class:`~actions.pricing.PricedAction`;
- :mod:`actions.rows`: an action as a plan's JSON row and as a line of text.

Imports only :mod:`twin` (dependencies point planner -> policies -> actions -> twin).
"""
