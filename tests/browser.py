"""Helpers for browser tests: Debian's Chromium through Playwright, an app served in-process, and a page
that records every request leaving localhost and every console error."""
from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlparse

import pytest

# No usage statistics or version checks from test servers (they would try to reach the network).
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(demo, allowed_paths: list[str] | None = None, **launch) -> Iterator[str]:
    """Launch a Gradio app in this process on a free local port (more `launch()` arguments in `launch`, e.g. the
    app's theme); yields its URL."""
    launch.setdefault("allowed_paths", allowed_paths or [])
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True, **launch)
    try:
        yield demo.local_url.rstrip("/")
    finally:
        demo.close()


@contextmanager
def chromium() -> Iterator:
    """A headless Debian Chromium (never a downloaded browser); skips when it is not installed."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageLog:
    external_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


def open_page(browser, url: str, *, color_scheme: str = "light", viewport: dict | None = None):
    """A page on `url` whose requests to anything but localhost are blocked and recorded."""
    context = browser.new_context(color_scheme=color_scheme, viewport=viewport or {"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    log = PageLog()

    def route(r):
        host = urlparse(r.request.url).hostname or ""
        if r.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            r.continue_()
        else:
            log.external_requests.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log.console_errors.append(str(e)))
    page.goto(url, wait_until="domcontentloaded")
    return page, log


def run_js(page, body: str, arg=None, timeout_ms: int = 10_000):
    """Evaluate an async function body (`arg` is bound) in the page, raced against a timeout."""
    script = f"""async (arg) => {{
        const work = (async () => {{ {body} }})();
        const limit = new Promise((_, reject) =>
            setTimeout(() => reject(new Error("page timeout after {timeout_ms} ms")), {timeout_ms}));
        return Promise.race([work, limit]);
    }}"""
    return page.evaluate(script, arg)


def wait_for(page, condition_js: str, timeout_ms: int = 15_000, arg=None):
    """Poll a JS expression (`arg` is bound) until it is truthy; returns its value."""
    return run_js(
        page,
        f"""while (true) {{
            const v = (() => {{ return {condition_js}; }})();
            if (v) return v;
            await new Promise(r => setTimeout(r, 50));
        }}""",
        arg,
        timeout_ms=timeout_ms,
    )


def state(page) -> dict:
    return page.evaluate("() => window.lincaePlayer.state()")


def dominant_frequency(page, *, settle_ms: int = 150) -> float:
    """Frequency (Hz) of the loudest FFT bin after the master output, averaged over a few frames."""
    return run_js(
        page,
        f"""const a = window.lincaePlayer.analyser;
        a.smoothingTimeConstant = 0;
        await new Promise(r => setTimeout(r, {settle_ms}));
        const acc = new Float32Array(a.frequencyBinCount);
        const frame = new Float32Array(a.frequencyBinCount);
        for (let k = 0; k < 4; k++) {{
            a.getFloatFrequencyData(frame);
            for (let i = 0; i < frame.length; i++) acc[i] += Math.pow(10, frame[i] / 20);
            await new Promise(r => setTimeout(r, 20));
        }}
        let best = 1;
        for (let i = 1; i < acc.length; i++) if (acc[i] > acc[best]) best = i;
        return best * a.context.sampleRate / a.fftSize;""",
    )


def dump(obj) -> str:
    return json.dumps(obj, indent=1, default=str)
