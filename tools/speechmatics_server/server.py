"""An aiohttp WebSocket server that speaks the Speechmatics Realtime protocol."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

from .actions import Action
from .protocol import EndSession, SessionProtocol
from .recognizer import Recognizer, ScriptedRecognizer


@dataclass
class SessionRecord:
    """Everything one connection sent and received, for asserts and snapshots."""

    headers: dict[str, str]
    query: dict[str, str]
    received: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any] | str | bytes] = field(default_factory=list)
    audio: bytearray = field(default_factory=bytearray)
    frames: int = 0
    pongs: int = 0
    start: dict[str, Any] | None = None
    end_of_stream: dict[str, Any] | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    # time.monotonic() of protocol moments, for the benchmark (comparable across processes).
    first_audio_at: float | None = None
    end_of_stream_at: float | None = None
    end_of_transcript_at: float | None = None
    partials_sent_at: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Return what the benchmark reads of a session, as JSON."""
        return {
            "audio_bytes": len(self.audio),
            "frames": self.frames,
            "end_of_stream": self.end_of_stream,
            "first_audio_at": self.first_audio_at,
            "end_of_stream_at": self.end_of_stream_at,
            "end_of_transcript_at": self.end_of_transcript_at,
            "partials_sent_at": self.partials_sent_at,
        }

    @property
    def sent_messages(self) -> list[str]:
        """Return the names of the JSON messages sent, in order."""
        return [m["message"] for m in self.sent if isinstance(m, dict)]


def scripted(transcript: str, **options: Any) -> Callable[[dict[str, Any]], Recognizer]:
    """Return a recognizer factory for a scripted transcript, with the session's trigger."""

    def recognizer(start: dict[str, Any]) -> Recognizer:
        conversation = start["transcription_config"].get("conversation_config", {})
        trigger = conversation.get("end_of_utterance_silence_trigger", 0.0)
        return ScriptedRecognizer(transcript, end_of_utterance=trigger, **options)

    return recognizer


class RealtimeServer:
    """A Realtime server on 127.0.0.1, scripted per test; change attributes between sessions."""

    def __init__(
        self,
        *,
        api_key: str | None = "test-api-key",
        transcript: str = "Turn on the kitchen light.",
        recognizer: Callable[[dict[str, Any]], Recognizer] | None = None,
        languages: frozenset[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        keep_records: bool = True,
        recognizer_in_thread: bool = False,
    ) -> None:
        """Configure the server; `start` binds it.

        keep_records=False forgets each session when it ends (a long-running engine);
        recognizer_in_thread runs recognizers that take a while (building them and
        their decoding) off the event loop, one call at a time per session.
        """
        self.api_key = api_key
        self.recognizer = recognizer or scripted(transcript)
        self.languages = languages
        self.http_status: int | None = None
        self.info_before_start = True
        self.info: dict[str, Any] = {
            "message": "Info",
            "type": "concurrent_session_usage",
            "reason": "1 concurrent sessions active out of quota 2",
            "usage": 1,
            "quota": 2,
            "last_updated": "2026-11-25T12:00:00Z",
        }
        self.autoping = True
        self.start_delay = 0.0
        self.ack_delay = 0.0
        self.end_delay = 0.0
        self.duration_limit_frames: int | None = None
        self.actions: dict[str, list[Action]] = {}
        self.sessions: list[SessionRecord] = []
        self.max_open_connections = 0
        self._connected = asyncio.Event()
        # "{n}" is replaced by the number of the connection, for unique ids.
        self.session_id = "fake-session"
        self._host = host
        self._port = port
        self.keep_records = keep_records
        self.recognizer_in_thread = recognizer_in_thread
        self._runner: web.AppRunner | None = None
        self._connections: set[asyncio.Task[Any]] = set()

    def clear_faults(self) -> None:
        """Behave normally again."""
        self.http_status = None
        self.start_delay = self.ack_delay = self.end_delay = 0.0
        self.duration_limit_frames = None
        self.actions = {}

    @property
    def url(self) -> str:
        """Return the ws:// URL of the Realtime endpoint."""
        return f"ws://{self._host}:{self._port}/v2"

    async def __aenter__(self) -> Self:
        """Start serving."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop serving."""
        await self.stop()

    async def start(self) -> None:
        """Bind 127.0.0.1 and serve /v2."""
        app = web.Application()
        app.router.add_get("/v2", self._handle)
        app.router.add_get("/_records", self._records)
        app.router.add_post("/_config", self._config)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Close every connection and stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def open_connections(self) -> int:
        """Return how many sessions are still connected."""
        return sum(not record.closed.is_set() for record in self.sessions)

    async def wait_open(self, count: int, seconds: float = 10.0) -> None:
        """Wait until at least `count` sessions are connected at once."""
        async with asyncio.timeout(seconds):
            while self.open_connections < count:
                self._connected.clear()
                await self._connected.wait()

    async def wait_closed(self, seconds: float = 5.0) -> None:
        """Wait until every session's connection has ended."""
        async with asyncio.timeout(seconds):
            for record in self.sessions:
                await record.closed.wait()

    async def _records(self, _request: web.Request) -> web.Response:
        """Return the finished sessions' summaries and forget them (for other processes)."""
        finished = [record for record in self.sessions if record.closed.is_set()]
        self.sessions = [
            record for record in self.sessions if not record.closed.is_set()
        ]
        return web.json_response([record.summary() for record in finished])

    async def _config(self, request: web.Request) -> web.Response:
        """Change the behaviour for the next sessions (for other processes)."""
        config = await request.json()
        if "http_status" in config:  # an outage: every handshake refused, or null
            self.http_status = config["http_status"]
        for key in ("start_delay", "end_delay", "ack_delay"):
            if key in config:
                setattr(self, key, float(config[key]))
        if "transcript" in config:
            options = {
                key: config[key]
                for key in ("final_every", "bytes_per_word")
                if key in config
            }
            self.recognizer = scripted(config["transcript"], **options)
        return web.json_response({"ok": True})

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        """Authenticate, upgrade and run one session."""
        if self.http_status is not None:
            return web.Response(status=self.http_status, text="refused by the test")
        if (
            self.api_key is not None
            and request.headers.get("Authorization") != f"Bearer {self.api_key}"
        ):
            return web.Response(status=401, text="Unauthorized")
        ws = web.WebSocketResponse(autoping=self.autoping)
        await ws.prepare(request)
        record = SessionRecord(dict(request.headers), dict(request.query))
        self.sessions.append(record)
        self.max_open_connections = max(
            self.max_open_connections, self.open_connections
        )
        self._connected.set()
        try:
            await SessionProtocol(self, request, ws, record).run()
        except EndSession:
            pass
        finally:
            await ws.close()
            record.closed.set()
            if not self.keep_records:
                self.sessions.remove(record)
        return ws

    async def create_recognizer(self, start: dict[str, Any]) -> Recognizer:
        """Return the recognizer for a session; raise UnsupportedInput to refuse it."""
        return await self.recognise(self.recognizer, start)

    async def recognise[**P, R](
        self, work: Callable[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run a recognizer's work: in a thread when it takes a while."""
        if self.recognizer_in_thread:
            return await asyncio.to_thread(work, *args, **kwargs)
        return work(*args, **kwargs)
