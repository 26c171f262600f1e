"""Loaded by every Python process started with this folder on PYTHONPATH (the offline tests'
servers): install the network guard when CELLTWIN_NETGUARD_LOG names a log file."""

import os

if os.environ.get("CELLTWIN_NETGUARD_LOG"):
    import celltwin_netguard

    celltwin_netguard.install()
