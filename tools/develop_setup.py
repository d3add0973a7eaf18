"""Configure a development Home Assistant through its own APIs, as a user would.

python -m tools.develop_setup --ha http://127.0.0.1:8123 --url ws://127.0.0.1:9000/v2 \
    --fallback-url ws://127.0.0.1:9001/v2 --tts-port 10200

The API key comes from SPEECHMATICS_API_KEY (any key does for the local engine).

Run by scripts/develop once Home Assistant answers: finishes onboarding with the user
`dev` (password `dev`), adds the Speechmatics integration (validated for real by its
config flow) with a second entry titled "Local fallback" for the fallback URL, set as
its fallback engine, adds the Wyoming text-to-speech service (tools/tts_engine.py), and
makes the preferred Assist pipeline transcribe with the first and speak with the last.
The integration tells the engine the home's names itself (vocabulary_from_home).
Anything already done is left as it is, so it is safe to run at every start.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
import contextlib
from http import HTTPStatus
import itertools
import os
import sys
from typing import Any, NamedTuple

import aiohttp

from tools.tts_engine import VOICE as TTS_VOICE

USERNAME = "dev"
PASSWORD = "dev"  # noqa: S105  # a development instance on this machine only
DOMAIN = "speechmatics"
REGIONS = ("eu", "us", "global")
FALLBACK_TITLE = "Local fallback"


class Engines(NamedTuple):
    """Where the development home's engines listen."""

    url: str  # eu, us, global or the ws:// URL of the main engine
    fallback_url: str
    tts_port: int


class SetupError(Exception):
    """Something the developer must look at."""

    def __init__(self, message: str, status: int | None = None) -> None:
        """Say what is wrong; status is the HTTP status of a refused request."""
        super().__init__(message)
        self.status = status


class HomeAssistantApi:
    """The REST and WebSocket APIs of one Home Assistant, logged in as the dev user."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        """Talk to Home Assistant at base (http://host:port)."""
        self.http = http
        self.base = base.rstrip("/")
        self.client_id = f"{self.base}/"
        self.token = ""
        self._ids = itertools.count(1)
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the REST API; return the JSON answer."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.http.request(
            method, f"{self.base}{path}", headers=headers, **kwargs
        ) as response:
            if response.status >= 400:
                text = await response.text()
                msg = f"{method} {path}: HTTP {response.status}: {text[:200]}"
                raise SetupError(msg, response.status)
            return await response.json()

    async def wait_ready(self, seconds: float) -> list[dict[str, Any]]:
        """Wait until Home Assistant answers; return the onboarding steps not done.

        Home Assistant serves the onboarding API only until onboarding is done.
        """
        async with asyncio.timeout(seconds):
            while True:
                try:
                    steps = await self.request("GET", "/api/onboarding")
                except SetupError as err:
                    if err.status == HTTPStatus.NOT_FOUND:
                        return []
                except aiohttp.ClientError:
                    pass
                else:
                    return [step for step in steps if not step["done"]]
                await asyncio.sleep(1)

    async def wait_running(self, seconds: float) -> None:
        """Wait until Home Assistant has started (its API answers before that)."""
        async with asyncio.timeout(seconds):
            while True:
                if (await self.request("GET", "/api/config"))["state"] == "RUNNING":
                    return
                await asyncio.sleep(0.5)

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
        """Open a connection to the WebSocket API, logged in."""
        async with self.http.ws_connect(f"{self.base}/api/websocket") as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": self.token})
            if (await ws.receive_json())["type"] != "auth_ok":
                msg = "the WebSocket API refused the token"
                raise SetupError(msg)
            yield ws

    @contextlib.asynccontextmanager
    async def websocket(self) -> AsyncIterator[None]:
        """Connect to the WebSocket API for call()."""
        async with self.connect() as ws:
            self._ws = ws
            try:
                yield
            finally:
                self._ws = None

    async def call(self, message: dict[str, Any]) -> Any:
        """Send a command over the WebSocket API; return its result."""
        if self._ws is None:
            msg = "call() needs websocket()"
            raise RuntimeError(msg)
        await self._ws.send_json({"id": next(self._ids), **message})
        answer = await self._ws.receive_json()
        if not answer.get("success"):
            msg = f"{message['type']}: {answer.get('error')}"
            raise SetupError(msg)
        return answer["result"]

    async def log_in(self, steps: list[dict[str, Any]]) -> None:
        """Create the dev user during onboarding, or log in as it."""
        if _pending(steps, "user"):
            answer = await self.request(
                "POST",
                "/api/onboarding/users",
                json={
                    "client_id": self.client_id,
                    "name": "Developer",
                    "username": USERNAME,
                    "password": PASSWORD,
                    "language": "en",
                },
            )
            code = answer["auth_code"]
        else:
            flow = await self.request(
                "POST",
                "/auth/login_flow",
                json={
                    "client_id": self.client_id,
                    "handler": ["homeassistant", None],
                    "redirect_uri": self.client_id,
                },
            )
            answer = await self.request(
                "POST",
                f"/auth/login_flow/{flow['flow_id']}",
                json={
                    "client_id": self.client_id,
                    "username": USERNAME,
                    "password": PASSWORD,
                },
            )
            if answer.get("type") != "create_entry":
                msg = f"cannot log in as {USERNAME!r}: configure this instance by hand"
                raise SetupError(msg)
            code = answer["result"]
        tokens = await self.request(
            "POST",
            "/auth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": self.client_id,
            },
        )
        self.token = tokens["access_token"]

    async def finish_onboarding(self, steps: list[dict[str, Any]]) -> None:
        """Skip the rest of onboarding with Home Assistant's defaults."""
        for step, body in (
            ("core_config", {}),
            ("analytics", {}),
            (
                "integration",
                {"client_id": self.client_id, "redirect_uri": self.client_id},
            ),
        ):
            if _pending(steps, step):
                await self.request("POST", f"/api/onboarding/{step}", json=body)

    async def entries(self, domain: str) -> list[dict[str, Any]]:
        """Return the config entries of an integration."""
        return await self.request(  # type: ignore[no-any-return]
            "GET", f"/api/config/config_entries/entry?domain={domain}"
        )

    async def add_entry(self, domain: str, data: dict[str, Any]) -> str:
        """Add an integration through its config flow; return the entry id."""
        flow = await self.request(
            "POST", "/api/config/config_entries/flow", json={"handler": domain}
        )
        result = await self.request(
            "POST", f"/api/config/config_entries/flow/{flow['flow_id']}", json=data
        )
        if result.get("type") != "create_entry":
            msg = (
                f"the {domain} config flow refused: "
                f"{result.get('errors') or result.get('reason')}"
            )
            raise SetupError(msg)
        return str(result["result"]["entry_id"])

    async def add_speechmatics(
        self, url: str, api_key: str, *, fallback: bool = False
    ) -> str:
        """Add the main entry, or the fallback's, unless it is there; return its id.

        The fallback's entry is the one titled FALLBACK_TITLE (renamed when added).
        """
        for entry in await self.entries(DOMAIN):
            if (entry["title"] == FALLBACK_TITLE) == fallback:
                return str(entry["entry_id"])
        entry_id = await self.add_entry(
            DOMAIN,
            {"api_key": api_key, "endpoint": url}
            if url in REGIONS
            else {"api_key": api_key, "endpoint": "custom", "url": url},
        )
        if fallback:
            await self.call(
                {
                    "type": "config_entries/update",
                    "entry_id": entry_id,
                    "title": FALLBACK_TITLE,
                }
            )
            # Reloaded, its device takes the new title: the two entities' names differ.
            await self.request(
                "POST", f"/api/config/config_entries/entry/{entry_id}/reload"
            )
        return entry_id

    async def add_text_to_speech(self, host: str, port: int) -> str:
        """Add the Wyoming text-to-speech service unless it is there; return its id."""
        if entries := await self.entries("wyoming"):
            return str(entries[0]["entry_id"])
        return await self.add_entry("wyoming", {"host": host, "port": port})

    async def entity_of(self, entry_id: str, domain: str) -> str:
        """Return an entry's entity of a domain (stt, tts)."""
        entities = await self.call({"type": "config/entity_registry/list"})
        for entity in entities:
            entity_id = str(entity["entity_id"])
            if entity["config_entry_id"] == entry_id and entity_id.startswith(
                f"{domain}."
            ):
                return entity_id
        msg = f"an entry has no {domain} entity (see Home Assistant's log)"
        raise SetupError(msg)

    async def set_fallback(self, entry_id: str, fallback_stt: str) -> None:
        """Make an entry fall back to another engine, through its options flow."""
        path = "/api/config/config_entries/options/flow"
        form = await self.request("POST", path, json={"handler": entry_id})
        stored = {
            field["name"]: field["description"]["suggested_value"]
            for field in form["data_schema"]
            if "suggested_value" in field.get("description", {})
        }
        if stored.get("fallback_stt") == fallback_stt:
            await self.request("DELETE", f"{path}/{form['flow_id']}")
            return
        result = await self.request(
            "POST",
            f"{path}/{form['flow_id']}",
            json={**stored, "fallback_stt": fallback_stt},
        )
        if result.get("type") != "create_entry":
            msg = f"the options flow refused the fallback: {result.get('errors')}"
            raise SetupError(msg)

    async def use_for_assist(self, stt: str, tts: str) -> None:
        """Make the preferred Assist pipeline transcribe and speak with these entities."""
        pipelines = await self.call({"type": "assist_pipeline/pipeline/list"})
        preferred = next(
            pipeline
            for pipeline in pipelines["pipelines"]
            if pipeline["id"] == pipelines["preferred_pipeline"]
        )
        wanted = {
            "stt_engine": stt,
            "stt_language": "en-US",
            "tts_engine": tts,
            "tts_language": "en-US",
            "tts_voice": TTS_VOICE,
        }
        if any(preferred.get(key) != value for key, value in wanted.items()):
            update = {
                key: value
                for key, value in preferred.items()
                if key not in {"id", "prefer_local_intents"}
            }
            await self.call(
                {
                    "type": "assist_pipeline/pipeline/update",
                    "pipeline_id": preferred["id"],
                    **update,
                    **wanted,
                }
            )


def _pending(steps: list[dict[str, Any]], step: str) -> bool:
    return any(item["step"] == step for item in steps)


async def configure(
    http: aiohttp.ClientSession, ha: str, engines: Engines, wait: float
) -> HomeAssistantApi:
    """Configure the Home Assistant at ha; return its API, logged in.

    Assist transcribes with the main entry, which falls back to the fallback's, and
    answers with the text-to-speech service.
    """
    api = HomeAssistantApi(http, ha)
    steps = await api.wait_ready(wait)
    await api.log_in(steps)
    await api.finish_onboarding(steps)
    await api.wait_running(wait)
    api_key = os.environ.get("SPEECHMATICS_API_KEY") or "local"
    async with api.websocket():
        main_entry = await api.add_speechmatics(engines.url, api_key)
        fallback_entry = await api.add_speechmatics(
            engines.fallback_url, "local", fallback=True
        )
        tts_entry = await api.add_text_to_speech("127.0.0.1", engines.tts_port)
        stt = await api.entity_of(main_entry, "stt")
        await api.set_fallback(main_entry, await api.entity_of(fallback_entry, "stt"))
        await api.use_for_assist(stt, await api.entity_of(tts_entry, "tts"))
    return api


async def setup(arguments: argparse.Namespace) -> None:
    """Configure Home Assistant; print what the developer needs to know."""
    engines = Engines(arguments.url, arguments.fallback_url, arguments.tts_port)
    async with aiohttp.ClientSession() as http:
        await configure(http, arguments.ha, engines, arguments.wait)
    print(
        f"Ready: open {arguments.ha} and log in as {USERNAME}/{PASSWORD}; the Assist "
        f"pipeline transcribes with {engines.url}, falling back to "
        f"{engines.fallback_url}, and speaks with espeak-ng.",
        flush=True,
    )


def main() -> None:
    """Parse the command line and configure Home Assistant."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ha", default="http://127.0.0.1:8123")
    parser.add_argument(
        "--url", required=True, help="eu, us, global or the ws:// URL of a server"
    )
    parser.add_argument(
        "--fallback-url",
        required=True,
        help="the ws:// URL of the fallback engine's server",
    )
    parser.add_argument(
        "--tts-port",
        type=int,
        default=10200,
        help="the port of the Wyoming text-to-speech service on 127.0.0.1",
    )
    parser.add_argument(
        "--wait", type=float, default=300, help="seconds to wait for HA"
    )
    try:
        asyncio.run(setup(parser.parse_args()))
    except (SetupError, TimeoutError, aiohttp.ClientError) as err:
        print(
            f"develop_setup: {err or 'Home Assistant did not answer'}", file=sys.stderr
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
