"""Configure a fresh development Home Assistant through its own APIs, as a user would.

python -m tools.develop_setup --ha http://127.0.0.1:8123 --url ws://127.0.0.1:9000/v2

The API key comes from SPEECHMATICS_API_KEY (any key does for the local engine).

Run by scripts/develop once Home Assistant answers: finishes onboarding with the user
`dev` (password `dev`), adds the Speechmatics integration (validated for real by its
config flow), and makes the preferred Assist pipeline use it for speech-to-text. The
integration tells the engine the home's names itself (vocabulary_from_home). Anything already done is
left as it is, so it is safe to run at every start.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import sys
from typing import Any

import aiohttp

USERNAME = "dev"
PASSWORD = "dev"  # noqa: S105  # a development instance on this machine only
DOMAIN = "speechmatics"
REGIONS = ("eu", "us", "global")


class SetupError(Exception):
    """Something the developer must look at."""


class HomeAssistantApi:
    """The REST and WebSocket APIs of one Home Assistant, logged in as the dev user."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        """Talk to Home Assistant at base (http://host:port)."""
        self.http = http
        self.base = base.rstrip("/")
        self.client_id = f"{self.base}/"
        self.token = ""
        self._ids = itertools.count(1)

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the REST API; return the JSON answer."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.http.request(
            method, f"{self.base}{path}", headers=headers, **kwargs
        ) as response:
            if response.status >= 400:
                text = await response.text()
                msg = f"{method} {path}: HTTP {response.status}: {text[:200]}"
                raise SetupError(msg)
            return await response.json()

    async def wait_ready(self, seconds: float) -> list[dict[str, Any]]:
        """Wait until Home Assistant answers; return the onboarding steps."""
        async with asyncio.timeout(seconds):
            while True:
                try:
                    return await self.request("GET", "/api/onboarding")  # type: ignore[no-any-return]
                except aiohttp.ClientError, SetupError:
                    await asyncio.sleep(1)

    async def log_in(self, steps: list[dict[str, Any]]) -> None:
        """Create the dev user during onboarding, or log in as it."""
        if not _done(steps, "user"):
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
            if not _done(steps, step):
                await self.request("POST", f"/api/onboarding/{step}", json=body)

    async def add_speechmatics(self, url: str, api_key: str) -> str:
        """Add the integration unless it is there; return its entry id."""
        entries = await self.request(
            "GET", f"/api/config/config_entries/entry?domain={DOMAIN}"
        )
        if entries:
            return str(entries[0]["entry_id"])
        flow = await self.request(
            "POST", "/api/config/config_entries/flow", json={"handler": DOMAIN}
        )
        result = await self.request(
            "POST",
            f"/api/config/config_entries/flow/{flow['flow_id']}",
            json={"api_key": api_key, "endpoint": url}
            if url in REGIONS
            else {"api_key": api_key, "endpoint": "custom", "url": url},
        )
        if result.get("type") != "create_entry":
            msg = f"the Speechmatics config flow refused: {result.get('errors')}"
            raise SetupError(msg)
        return str(result["result"]["entry_id"])

    async def use_for_assist(self, entry_id: str) -> str:
        """Make the preferred Assist pipeline transcribe with the entry's entity."""
        async with self.http.ws_connect(f"{self.base}/api/websocket") as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": self.token})
            if (await ws.receive_json())["type"] != "auth_ok":
                msg = "the WebSocket API refused the token"
                raise SetupError(msg)

            async def call(message: dict[str, Any]) -> Any:
                await ws.send_json({"id": next(self._ids), **message})
                answer = await ws.receive_json()
                if not answer.get("success"):
                    msg = f"{message['type']}: {answer.get('error')}"
                    raise SetupError(msg)
                return answer["result"]

            entities = await call({"type": "config/entity_registry/list"})
            stt = next(
                (
                    entity["entity_id"]
                    for entity in entities
                    if entity["config_entry_id"] == entry_id
                    and entity["entity_id"].startswith("stt.")
                ),
                None,
            )
            if stt is None:
                msg = (
                    "the Speechmatics entry has no speech-to-text entity (see the log)"
                )
                raise SetupError(msg)
            pipelines = await call({"type": "assist_pipeline/pipeline/list"})
            preferred = next(
                pipeline
                for pipeline in pipelines["pipelines"]
                if pipeline["id"] == pipelines["preferred_pipeline"]
            )
            if preferred["stt_engine"] != stt:
                update = {
                    key: value
                    for key, value in preferred.items()
                    if key not in {"id", "prefer_local_intents"}
                }
                await call(
                    {
                        "type": "assist_pipeline/pipeline/update",
                        "pipeline_id": preferred["id"],
                        **update,
                        "stt_engine": stt,
                        "stt_language": "en-US",
                    }
                )
            return stt


def _done(steps: list[dict[str, Any]], step: str) -> bool:
    return any(item["step"] == step and item["done"] for item in steps)


async def setup(arguments: argparse.Namespace) -> None:
    """Configure Home Assistant; print what the developer needs to know."""
    async with aiohttp.ClientSession() as http:
        api = HomeAssistantApi(http, arguments.ha)
        steps = await api.wait_ready(arguments.wait)
        await api.log_in(steps)
        await api.finish_onboarding(steps)
        api_key = os.environ.get("SPEECHMATICS_API_KEY") or "local"
        entry_id = await api.add_speechmatics(arguments.url, api_key)
        stt = await api.use_for_assist(entry_id)
    print(
        f"Ready: open {arguments.ha} and log in as {USERNAME}/{PASSWORD}; the Assist "
        f"pipeline transcribes with {stt} ({arguments.url}).",
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
