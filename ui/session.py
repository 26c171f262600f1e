"""What every page needs: the API client, the token's role, the selected network and plan,
and one way to show an API error. Selections live in ``st.session_state`` under plain keys
(``network_id``, ``plan_id``) so that they survive page switches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import streamlit as st

from ui.client import ApiClient, ApiClientError, role_at_least
from ui.settings import UiSettings

T = TypeVar("T")
PENDING_NETWORK = "network_pending"
FLASH = "flash_message"


@dataclass(frozen=True)
class PageContext:
    client: ApiClient
    settings: UiSettings
    user: dict[str, Any]  # {"name", "role"}; role None when the API could not say

    def can(self, role: str) -> bool:
        return role_at_least(self.user.get("role"), role)


@st.cache_resource(show_spinner=False)
def _client(settings: UiSettings) -> ApiClient:
    return ApiClient(settings)


def show_error(exc: ApiClientError, what: str = "") -> None:
    """The API's message as the user should read it: detail first, then one line per field
    error or policy issue."""
    head = f"{what}: " if what else ""
    lines = exc.lines()
    body = head + lines[0]
    if len(lines) > 1:
        body += "\n" + "\n".join(f"- {x}" for x in lines[1:])
    if exc.status in (401, 403):
        body += "\n\n(Set CELLTWIN_TOKEN to a token with the needed role.)"
    st.error(body, icon=":material/error:")


def attempt(fn: Callable[[], T], what: str = "") -> T | None:
    """Run one API call; on failure show the error and return None."""
    try:
        return fn()
    except ApiClientError as exc:
        show_error(exc, what)
        return None


def context() -> PageContext:
    """Client, settings and the token's user; stops the page when the API is unreachable."""
    settings = UiSettings.from_env()
    client = _client(settings)
    try:
        user = client.me()
    except ApiClientError as exc:
        if exc.status == 0 or exc.status in (401, 403):
            show_error(exc)
            st.stop()
        user = {"name": "?", "role": None}
    with st.sidebar:
        st.caption(f"API {settings.api_base} — {user.get('name', '?')} "
                   f"({user.get('role') or 'role unknown'})")
    return PageContext(client, settings, user)


def pick_network(ctx: PageContext, label: str = "Network") -> dict[str, Any] | None:
    """Sidebar selector of the networks the API holds (newest first); remembers the choice."""
    nets = attempt(ctx.client.networks, "listing networks") or []
    if not nets:
        return None
    ids = [n["id"] for n in nets]
    # A new network (select_network) wins; a link may name one (?network=<id>); afterwards
    # the session remembers the choice.
    pending = st.session_state.pop(PENDING_NETWORK, None)
    if pending in ids:
        st.session_state["network_pick"] = pending
    current = st.session_state.get("network_id") or st.query_params.get("network")
    if current not in ids:
        # first visit: the user's own newest network, never another user's
        mine = [n["id"] for n in nets if n.get("created_by") == ctx.user.get("name")]
        current = mine[0] if mine else None
    choice = st.sidebar.selectbox(
        label, ids, index=ids.index(current) if current in ids else None, key="network_pick",
        placeholder="choose a network",
        format_func=lambda i: next(f"{n['name']} ({n['n_cells']} cells, {i[:8]}, by "
                                   f"{n.get('created_by', '?')})"
                                   for n in nets if n["id"] == i))
    st.session_state["network_id"] = choice
    return next((n for n in nets if n["id"] == choice), None)


def select_network(network_id: str, message: str) -> None:
    """Make a just-created network the selection and rerun the page, with ``message`` shown
    once at the top (the picker widget cannot change after it was drawn in this run)."""
    st.session_state[PENDING_NETWORK] = network_id
    st.session_state["network_id"] = network_id
    st.session_state[FLASH] = message
    st.rerun()


def flash() -> None:
    """Show (once) the message a previous run left for this one."""
    msg = st.session_state.pop(FLASH, None)
    if msg:
        st.success(msg)


def pick_plan(ctx: PageContext, network_id: str, only_done: bool = True,
              label: str = "Plan") -> dict[str, Any] | None:
    """Sidebar selector of the network's plans (newest first); remembers the choice."""
    plans = attempt(lambda: ctx.client.plans(network_id), "listing plans") or []
    if only_done:
        plans = [p for p in plans if p.get("status") == "done"]
    if not plans:
        return None
    ids = [p["id"] for p in plans]
    current = st.session_state.get("plan_id")
    index = ids.index(current) if current in ids else 0
    choice = st.sidebar.selectbox(
        label, ids, index=index, key="plan_pick",
        format_func=lambda i: next(_plan_label(p) for p in plans if p["id"] == i))
    st.session_state["plan_id"] = choice
    return next(p for p in plans if p["id"] == choice)


def _plan_label(p: dict[str, Any]) -> str:
    when = str(p.get("created_at", ""))[:16].replace("T", " ")
    return f"{when} {p.get('status')} {p['id'][:8]}"
