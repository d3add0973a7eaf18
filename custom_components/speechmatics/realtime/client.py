"""The entry point of the Speechmatics Realtime client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
from yarl import URL

from .config import AudioFormat, SessionOptions, TranscriptionConfig, Turn
from .session import RealtimeSession

REGION_URLS: dict[str, str] = {
    "eu": "wss://eu.rt.speechmatics.com/v2",
    "us": "wss://us.rt.speechmatics.com/v2",
    "global": "wss://global.rt.speechmatics.com/v2",
}
DEFAULT_URL = REGION_URLS["eu"]
_VERIFY_LANGUAGE = "en"


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


_NO_AUDIO: tuple[bytes, ...] = ()


async def _no_audio() -> AsyncIterator[bytes]:
    """Yield nothing: a session that ends as soon as it has started."""
    for chunk in _NO_AUDIO:
        yield chunk  # pragma: no cover


class RealtimeClient:
    """Opens Realtime sessions on one endpoint with one API key, and closes them."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        api_key: str | None,
        url: str = DEFAULT_URL,
        *,
        sdk_id: str,
        options: SessionOptions | None = None,
        max_sessions: int | None = None,
    ) -> None:
        """Keep what every session needs; sdk_id names the client to the service.

        max_sessions bounds the sessions open at once (for an HTTP connection pool
        with a limit per host: past it, a session would wait for a connection); a
        session past it fails at once with TooManySessions.
        """
        self._http = http
        self._api_key = api_key or None
        self._url = validate_url(url).update_query({"sm-sdk": sdk_id})
        self.options = options or SessionOptions()
        self._max_sessions = max_sessions
        self._open_sessions: set[RealtimeSession] = set()

    @property
    def url(self) -> URL:
        """Return the URL sessions connect to."""
        return self._url

    @property
    def open_sessions(self) -> int:
        """Return how many sessions are running or closing their socket."""
        return len(self._open_sessions)

    def session(
        self,
        transcription_config: TranscriptionConfig,
        audio_format: AudioFormat | None = None,
        options: SessionOptions | None = None,
        turn: Turn | None = None,
    ) -> RealtimeSession:
        """Return a new session, to run with `transcribe`; with a turn, see Turn."""
        return RealtimeSession(
            self._http,
            self._url,
            self._api_key,
            transcription_config,
            audio_format or AudioFormat(),
            options or self.options,
            self._open_sessions,
            self._max_sessions,
            turn,
        )

    async def verify(self) -> None:
        """Open a session and end it at once: prove the key and the endpoint work."""
        session = self.session(TranscriptionConfig(language=_VERIFY_LANGUAGE))
        async for _event in session.transcribe(_no_audio()):
            pass
        await session.close()

    async def close(self) -> None:
        """Stop every open session and wait until their sockets are closed."""
        await asyncio.gather(
            *(session.close() for session in list(self._open_sessions))
        )
