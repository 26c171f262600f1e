"""A user's walk through the five pages in headless chromium, recording every request the
pages make, the drawn Leaflet layers of each map, the before/after peaks of the Compare page,
and a screenshot of each page (``docs/screenshots/``). Shared by the end-to-end test and the
offline test (one walk, one plan, two sets of assertions)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PAGES = ("network", "plan", "compare", "policies", "audit")
MAP_FRAME = "streamlit_folium"


@dataclass
class Walkthrough:
    requests: list[str] = field(default_factory=list)   # every URL asked for (http, ws, ...)
    layers: dict[str, list[int]] = field(default_factory=dict)  # page -> paths per map
    screenshots: dict[str, Path] = field(default_factory=dict)
    peak_before: float | None = None
    peak_after: float | None = None
    plan_text: str = ""
    timings_s: dict[str, float] = field(default_factory=dict)
    radio_images: int = 0          # image overlays (radio layer) in the Network page's map
    denied_text: str = ""          # the Plan page of a denied plan, opened by a deep link
    whatif_verdicts: int = 0       # verdict boxes on the Plan page after a what-if verify
    hour_moved: int | None = None  # the hour slider after the user moved it
    hour_after_switch: int | None = None  # and after switching to another network


def map_layers(page: Any) -> list[int]:
    """Number of drawn vector layers (``.leaflet-interactive``) in each map iframe."""
    out = []
    for fr in page.frames:
        if MAP_FRAME in fr.url and not fr.is_detached():
            try:
                out.append(fr.locator(".leaflet-interactive").count())
            except Exception:  # a frame that went away while counting
                continue
    return out


def wait_maps(page: Any, n: int, timeout_s: float = 60.0) -> list[int]:
    """Wait until ``n`` map iframes each hold drawn layers; returns their counts."""
    deadline = time.monotonic() + timeout_s
    counts: list[int] = []
    while time.monotonic() < deadline:
        # component iframes load lazily: bring each into view, as a user scrolling would
        for el in page.locator("iframe").all():
            try:
                el.scroll_into_view_if_needed(timeout=2_000)
            except Exception:  # re-rendered while scrolling; the next pass finds it
                continue
        counts = map_layers(page)
        if len([c for c in counts if c > 0]) >= n:
            return counts
        time.sleep(0.3)
    return counts


def screenshot(page: Any, path: Path) -> Path:
    """The whole page: Streamlit scrolls inside its main block, so grow the viewport to it."""
    h = page.evaluate("() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
                      " return m ? m.scrollHeight : document.body.scrollHeight; }")
    w = page.viewport_size["width"]
    page.set_viewport_size({"width": w, "height": int(min(max(h, 900), 4200))})
    time.sleep(0.8)  # let Leaflet redraw to the new size
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": w, "height": 1000})
    return path


def goto_page(page: Any, title: str) -> None:
    """Follow the sidebar link (keeps the Streamlit session, as a user's click does)."""
    page.get_by_role("link", name=title, exact=True).first.click()
    page.get_by_role("heading", name=re.compile(f"^{title}")).first.wait_for(timeout=60_000)


def image_layers(page: Any) -> int:
    """Image overlays (``.leaflet-image-layer``: the radio maps) in the map iframes."""
    n = 0
    for fr in page.frames:
        if MAP_FRAME in fr.url and not fr.is_detached():
            try:
                n += fr.locator("img.leaflet-image-layer").count()
            except Exception:  # a frame that went away while counting
                continue
    return n


VERDICT = re.compile(r"Target (NOT )?met")


HOUR_SLIDER = "[data-testid='stSlider'] input[type='range']"


def slider_hour(page: Any) -> int:
    return int(page.locator(HOUR_SLIDER).first.input_value())


def hour_after_switch(page: Any, other_network: str) -> tuple[int, int]:
    """Move the hour slider back 5 hours, then pick another network in the sidebar: the hour
    after the move, and the hour the page shows for the other network."""
    start = slider_hour(page)
    page.locator(HOUR_SLIDER).first.focus()
    for _ in range(5):
        page.keyboard.press("ArrowLeft")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and slider_hour(page) == start:
        time.sleep(0.3)
    time.sleep(2.0)  # the page reruns for the new hour
    moved = slider_hour(page)
    page.get_by_test_id("stSidebar").get_by_role("combobox").first.click()
    page.get_by_role("option", name=re.compile(re.escape(other_network))).first.click()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and other_network not in page.inner_text(
            "[data-testid='stSidebar']"):
        time.sleep(0.3)
    time.sleep(3.0)  # the page reruns for the new network
    return moved, slider_hour(page)


def walk(browser: Any, ui_url: str, shots: Path, denied_plan: str | None = None,
         other_network: str | None = None) -> Walkthrough:
    w = Walkthrough()
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    ctx.on("request", lambda r: w.requests.append(r.url))
    page = ctx.new_page()
    page.on("websocket", lambda ws: w.requests.append(ws.url))
    page.set_default_timeout(60_000)
    try:
        t0 = time.monotonic()
        page.goto(ui_url)
        page.get_by_role("heading", name="Network").first.wait_for()
        w.layers["network"] = wait_maps(page, 1)
        w.screenshots["network"] = screenshot(page, shots / "network.png")
        w.timings_s["network"] = time.monotonic() - t0
        # a radio layer: the SINR map drawn under the wedges, from an inline image
        page.get_by_text("SINR (dB)", exact=True).first.click()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and image_layers(page) == 0:
            wait_maps(page, 1, timeout_s=5)
        w.radio_images = image_layers(page)
        w.screenshots["network-sinr"] = screenshot(page, shots / "network-sinr.png")
        page.get_by_text("none", exact=True).first.click()

        t0 = time.monotonic()
        goto_page(page, "Plan")
        page.get_by_role("button", name="Run plan").click()
        # the page shows the newest plan until the new one is done: wait for the run's note
        # ("running on the server") to come and go
        running = page.get_by_text(re.compile("running on the server")).first
        running.wait_for(timeout=120_000)
        running.wait_for(state="detached", timeout=300_000)
        page.get_by_text("Proposed actions").first.wait_for(timeout=300_000)
        time.sleep(1.0)
        w.layers["plan"] = wait_maps(page, 1)
        w.plan_text = page.inner_text("[data-testid='stMain']")
        w.screenshots["plan"] = screenshot(page, shots / "plan.png")
        # the what-if round trip: verify the plan's own actions, its verdict shows again
        page.get_by_role("button", name="Verify the edit with the twin").click()
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and w.whatif_verdicts < 2:
            w.whatif_verdicts = page.get_by_text(VERDICT).count()
            time.sleep(0.5)
        w.timings_s["plan"] = time.monotonic() - t0

        t0 = time.monotonic()
        goto_page(page, "Compare")
        page.get_by_text(re.compile("After — peak")).first.wait_for()
        w.layers["compare"] = wait_maps(page, 2)
        text = page.inner_text("[data-testid='stMain']")
        b = re.search(r"Before — peak ([0-9.]+)", text)
        a = re.search(r"After — peak ([0-9.]+)", text)
        w.peak_before = float(b.group(1)) if b else None
        w.peak_after = float(a.group(1)) if a else None
        page.get_by_text("Distribution (CDF) of cell loads").wait_for()
        time.sleep(1.0)  # vega charts draw after their container appears
        w.screenshots["compare"] = screenshot(page, shots / "compare.png")
        w.timings_s["compare"] = time.monotonic() - t0

        t0 = time.monotonic()
        goto_page(page, "Policies")
        page.get_by_role("button", name="Run the policy case tests").click()
        page.get_by_text(re.compile("policy cases behave as expected")).wait_for()
        w.screenshots["policies"] = screenshot(page, shots / "policies.png")
        w.timings_s["policies"] = time.monotonic() - t0

        t0 = time.monotonic()
        goto_page(page, "Audit")
        page.get_by_text("Plan history").wait_for()
        page.get_by_text("Provenance").wait_for()
        w.screenshots["audit"] = screenshot(page, shots / "audit.png")
        w.timings_s["audit"] = time.monotonic() - t0
        if other_network is not None:
            goto_page(page, "Network")
            wait_maps(page, 1)
            w.hour_moved, w.hour_after_switch = hour_after_switch(page, other_network)
        if denied_plan is not None:
            # a deep link to a denied plan as the first visit of a new session
            dl = ctx.new_page()
            dl.set_default_timeout(60_000)
            base = ui_url.split("/?")[0]
            dl.goto(f"{base}/plan?plan={denied_plan}&{ui_url.split('?', 1)[1]}")
            dl.get_by_text(re.compile("DENIED by the policy in force")).first.wait_for()
            w.denied_text = dl.inner_text("[data-testid='stMain']")
            w.screenshots["plan-denied"] = screenshot(dl, shots / "plan-denied.png")
            dl.close()
    finally:
        ctx.close()
    return w
