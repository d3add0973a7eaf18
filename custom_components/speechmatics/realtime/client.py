"""The entry point of the Speechmatics Realtime client."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
from yarl import URL

from .models import AudioFormat, RealtimeEvent, TranscriptionConfig
from .session import RealtimeSession, SessionOptions

REGION_URLS: dict[str, str] = {
    "eu": "wss://eu.rt.speechmatics.com/v2",
    "us": "wss://us.rt.speechmatics.com/v2",
    "global": "wss://global.rt.speechmatics.com/v2",
}
DEFAULT_URL = REGION_URLS["eu"]


def validate_url(url: str) -> URL:
    """Return the URL of a Realtime endpoint, refusing what is not a ws:// or wss:// URL."""
    try:
        parsed = URL(url)
    except (TypeError, ValueError) as err:
        msg = f"not a URL: {url!r}"
        raise ValueError(msg) from err
    if parsed.scheme not in ("ws", "wss") or not parsed.host:
        msg = f"a Realtime URL starts with ws:// or wss:// and names a host: {url!r}"
        raise ValueError(msg)
    return parsed


class RealtimeClient:
    """Opens Realtime sessions on one endpoint with one API key."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        api_key: str | None,
        url: str = DEFAULT_URL,
        *,
        sdk_id: str,
        options: SessionOptions | None = None,
    ) -> None:
        """Keep what every session needs; sdk_id names the client to the service."""
        self._http = http
        self._api_key = api_key or None
        self._url = validate_url(url).update_query({"sm-sdk": sdk_id})
        self.options = options or SessionOptions()

    @property
    def url(self) -> URL:
        """Return the URL sessions connect to."""
        return self._url

    def session(
        self,
        transcription_config: TranscriptionConfig,
        audio_format: AudioFormat | None = None,
        options: SessionOptions | None = None,
        on_event: Callable[[RealtimeEvent], None] | None = None,
    ) -> RealtimeSession:
        """Return a new session; enter it with `async with` to connect."""
        return RealtimeSession(
            self._http,
            self._url,
            self._api_key,
            transcription_config,
            audio_format or AudioFormat(),
            options or self.options,
            on_event,
        )
