"""The ``celltwin`` command line (:mod:`cli.main`), one module per sub-command; the top layer:
it imports api, planner, policies, twin and the UI's settings, and nothing imports it."""
