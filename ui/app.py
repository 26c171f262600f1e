"""celltwin web front end (Streamlit): entry point and navigation.

Start it with ``celltwin demo`` (API and UI together) or, against a running API,
``streamlit run ui/app.py`` with the flags of :func:`ui.settings.streamlit_flags`. The UI is a
client of the REST API only (``CELLTWIN_API_URL``, ``CELLTWIN_TOKEN``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run ui/app.py` puts ui/ (not the repository) on sys.path; the pages import ui.*.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

# The favicon is a local file: Streamlit fetches emoji and :material/: page icons from a CDN.
st.set_page_config(page_title="celltwin",
                   page_icon=str(Path(__file__).resolve().parent / "static" / "favicon.png"),
                   layout="wide")

# The pages live in views/, not pages/: a pages/ folder beside the entry point switches
# Streamlit to its legacy multipage mode for a deep link opened as the first visit (its own
# lowercase navigation with an extra "app" page, and the pages run without this file's
# page config), before st.navigation below takes over.
PAGES = [
    st.Page("views/network.py", title="Network", icon=":material/map:", default=True),
    st.Page("views/plan.py", title="Plan", icon=":material/build:"),
    st.Page("views/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("views/policies.py", title="Policies", icon=":material/policy:"),
    st.Page("views/audit.py", title="Audit", icon=":material/history:"),
]

st.navigation(PAGES).run()
