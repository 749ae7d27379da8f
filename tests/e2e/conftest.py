"""A real server on a free loopback port and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.app import officium
from core.testing import ADMIN_EMAIL, make_user

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "testplugins"
CHROMIUM = os.environ.get("OFFICIUM_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_server(make_app, database_url: str, tmp_path: Path) -> Iterator[str]:
    """``officium serve`` in its own process on the test database, with an admin user."""
    make_user(officium(make_app(database_url)), ADMIN_EMAIL, roles=("admin",))
    port = _free_port()
    env = {
        **os.environ,
        "OFFICIUM_DATABASE_URL": database_url,
        "PYTHONPATH": str(FIXTURES),
        "OFFICIUM_INSTANCE_PATH": str(tmp_path / "instance"),
        "OFFICIUM_SECRET_KEY": "e2e-secret-key-0123456789",
        "OFFICIUM_PLUGINS": "notes,tasks,accounting,crm,hr,compliance",
    }
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90  # a loaded CI machine starts it slowly
    while True:
        try:
            urllib.request.urlopen(f"{url}/login", timeout=1)  # noqa: S310 - loopback test server
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError((tmp_path / "server.log").read_text()) from None
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: object, live_server: str) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A 4xx answer to a form (401 wrong password, 422 field errors) is expected; script errors are not.
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "the server responded with a status of 4" not in msg.text
            else None
        ),
    )
    yield page
    context.close()
    assert not errors, f"the browser reported errors: {errors}"


def screenshot(page: object, name: str) -> None:
    """Keep a picture of the page for the README tour."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
