"""Talk to the development home as a user does: Home Assistant's Assist dialog in Chromium.

Debian's Chromium, driven by Playwright, runs headless with a WAV file of espeak-ng
speech as its microphone and its default audio processing on (echo cancellation, noise
suppression, automatic gain: what every user gets). It logs in through the login form,
opens the Assist dialog and clicks the microphone, once per command. For each command
it checks the text the dialog shows, the speechmatics_transcript events (partials, then
one final equal to that text), the named entity's new state, and that the spoken answer
was fetched. Screenshots go to BROWSER_SCREENSHOTS (browser-screenshots/ by default):
the dialog after each command, and the page at a failure.

The frontend's names this test depends on are in FRONTEND; when the frontend changes
one, the test fails saying which.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import contextlib
from importlib.metadata import version
import os
from pathlib import Path
import re
import shutil
from typing import Any
import wave

import aiohttp
from playwright.async_api import (
    Browser,
    Error as PlaywrightError,
    Locator,
    Page,
    Playwright,
    async_playwright,
)
import pytest

from tools.develop_setup import PASSWORD, USERNAME, Engines
from tools.spoken import RATE, spoken

from .dev_home import (
    ROOT,
    HomeAssistantProcess,
    TranscriptEvents,
    set_up,
    transcript_events,
)

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is missing: scripts/setup installs it"
)

# What the test looks for in Home Assistant's frontend, by what a user sees.
FRONTEND = {
    "username": ("textbox", "Username"),
    "password": ("textbox", "Password"),
    "log in": ("button", "Log in"),
    "assist": ("button", "Assist (A)"),
    "microphone": ("button", "Start listening"),
}
USER_MESSAGES = "ha-assist-chat .message.user"
ANSWERS = "ha-assist-chat .message.hass"
TTS_AUDIO = re.compile(r"/api/tts_proxy/")
WAIT_MS = 30_000

# (command, entity, state after it), in this order: the last undoes the first.
COMMANDS = (
    ("turn on the kitchen light", "light.kitchen_light", "on"),
    ("turn on the living room light", "light.living_room_light", "on"),
    ("turn on the porch light", "light.porch_light", "on"),
    ("turn on the desk lamp", "light.desk_lamp", "on"),
    ("turn on the ceiling fan", "switch.ceiling_fan", "on"),
    ("turn off the kitchen light", "light.kitchen_light", "off"),
)

# The text of an element, through the shadow roots the frontend renders into.
_DEEP_TEXT = """element => {
  const walk = node => (node.shadowRoot ? walk(node.shadowRoot) : "") +
    [...node.childNodes].map(
      child => child.nodeType === Node.TEXT_NODE ? child.textContent : walk(child)
    ).join("");
  return walk(element).replace(/\\s+/g, " ").trim();
}"""


def _screenshots() -> Path:
    folder = Path(os.environ.get("BROWSER_SCREENSHOTS", ROOT / "browser-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _microphone_file(folder: Path, command: str) -> Path:
    """Write the command, spoken by espeak-ng, as the WAV file Chromium records."""
    path = folder / f"{command.replace(' ', '_')}.wav"
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(RATE)
        file.writeframes(spoken(command))
    return path


@contextlib.asynccontextmanager
async def _chromium(
    playwright: Playwright, microphone: Path | None = None
) -> AsyncIterator[Browser]:
    """Run headless Chromium, with a WAV file as its microphone, played once."""
    args = ["--no-sandbox"]  # root in CI
    if microphone is not None:
        args += [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={microphone}%noloop",
        ]
    browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=args)
    try:
        yield browser
    finally:
        await browser.close()


async def _find(page: Page, name: str) -> Locator:
    """Return the element a user knows by this name; fail naming it if it is gone."""
    role, label = FRONTEND[name]
    locator = page.get_by_role(role, name=label, exact=True)  # type: ignore[arg-type]
    try:
        await locator.wait_for(timeout=WAIT_MS)
    except PlaywrightError as err:
        await page.screenshot(
            path=_screenshots() / f"missing_{name.replace(' ', '_')}.png"
        )
        msg = (
            f"the frontend changed: no {role} named {label!r} ({name}) on "
            f"{page.url} with home-assistant-frontend "
            f"{version('home-assistant-frontend')}; update FRONTEND in {__name__}"
        )
        raise AssertionError(msg) from err
    return locator


async def _log_in(playwright: Playwright, url: str, state: Path) -> None:
    """Log in through the login form; keep the browser's storage for the next ones."""
    async with _chromium(playwright) as browser:
        page = await browser.new_page()
        await page.goto(url)
        await (await _find(page, "username")).fill(USERNAME)
        await (await _find(page, "password")).fill(PASSWORD)
        await (await _find(page, "log in")).click()
        await _find(page, "assist")
        await page.context.storage_state(path=state)


async def _ask(page: Page, url: str) -> tuple[str, str]:
    """Open Assist, click the microphone; return the text shown and the answer.

    Returns once the spoken answer was fetched, as the dialog plays it.
    """
    await page.goto(url)
    await (await _find(page, "assist")).click()
    async with page.expect_response(TTS_AUDIO, timeout=WAIT_MS) as answer:
        await (await _find(page, "microphone")).click()
    response = await answer.value
    assert response.ok, f"the spoken answer: HTTP {response.status}"
    assert response.headers["content-type"] == "audio/mpeg"
    assert len(await response.body()) > 1000
    shown = await page.locator(USER_MESSAGES).last.evaluate(_DEEP_TEXT)
    reply = await page.locator(ANSWERS).last.evaluate(_DEEP_TEXT)
    return shown, reply


async def _command(
    playwright: Playwright,
    home: str,
    state: Path,
    transcripts: TranscriptEvents,
    microphone: Path,
    screenshots: Path,
) -> tuple[str, list[dict[str, Any]]]:
    """Speak a command to the Assist dialog; return the text shown and the events."""
    async with _chromium(playwright, microphone) as browser:
        context = await browser.new_context(storage_state=state)
        page = await context.new_page()
        try:
            shown, reply = await _ask(page, home)
            final = await transcripts.final()
        except BaseException:
            await page.screenshot(path=screenshots / f"failed_{microphone.stem}.png")
            raise
        await page.screenshot(path=screenshots / f"dialog_{microphone.stem}.png")
    assert reply, f"no answer shown for {microphone.stem}"
    assert final["text"] == shown
    return shown, transcripts.take()


async def test_the_assist_dialog_in_chromium(
    home_assistant: HomeAssistantProcess, engines: Engines, tmp_path: Path
) -> None:
    """Test spoken commands through the Assist dialog, with the browser's processing on."""
    screenshots = _screenshots()
    misheard = []
    async with aiohttp.ClientSession() as http, async_playwright() as playwright:
        api = await set_up(http, home_assistant, engines)
        state = tmp_path / "storage-state.json"
        await _log_in(playwright, home_assistant.url, state)
        async with transcript_events(api) as transcripts:
            for command, entity, expected in COMMANDS:
                shown, events = await _command(
                    playwright,
                    home_assistant.url,
                    state,
                    transcripts,
                    _microphone_file(tmp_path, command),
                    screenshots,
                )
                assert [event["is_final"] for event in events[:-1]] == [False] * (
                    len(events) - 1
                ), events
                assert len(events) > 1, f"no partial event for {command!r}"
                assert all(event["engine"] == "speechmatics" for event in events)
                if shown != f"{command.capitalize()}.":
                    misheard.append((command, shown))
                    continue
                entity_state = await api.request("GET", f"/api/states/{entity}")
                assert entity_state["state"] == expected, command
    assert not misheard, f"{len(misheard)} of {len(COMMANDS)} misheard: {misheard}"
