"""An aiohttp WebSocket server that behaves like the Speechmatics Realtime service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
import json
import time
from typing import Any, Self

from aiohttp import WSMsgType, web

from .recognizer import Recognizer, ScriptedRecognizer, UnsupportedInput

# Close codes the service uses after an Error of each type (see PROTOCOL.md).
ERROR_CLOSE_CODES: dict[str, int] = {
    "not_authorised": 4001,
    "not_allowed": 4003,
    "invalid_model": 4004,
    "quota_exceeded": 4005,
    "timelimit_exceeded": 4006,
    "job_error": 4013,
    "protocol_error": 1003,
    "idle_timeout": 1008,
    "session_timeout": 1008,
    "unknown_error": 1011,
}
_START_KEYS = frozenset(
    {
        "message",
        "audio_format",
        "transcription_config",
        "translation_config",
        "audio_events_config",
    }
)
_TRANSCRIPTION_KEYS = frozenset(
    {
        "additional_vocab",
        "audio_filtering_config",
        "channel_diarization_labels",
        "conversation_config",
        "diarization",
        "domain",
        "enable_entities",
        "enable_partials",
        "language",
        "max_delay",
        "max_delay_mode",
        "model",
        "operating_point",
        "output_locale",
        "punctuation_overrides",
        "speaker_diarization_config",
        "transcript_filtering_config",
    }
)
_ENCODINGS = frozenset({"pcm_s16le", "pcm_f32le", "mulaw"})
_MODELS = frozenset({"standard", "enhanced"})


class Trigger(StrEnum):
    """Points of a session where scripted actions run."""

    CONNECTED = "connected"
    START = "start"
    STARTED = "started"
    END_OF_STREAM = "end_of_stream"

    @staticmethod
    def frame(number: int) -> str:
        """Return the trigger after the given audio frame (1-based) was acknowledged."""
        return f"frame:{number}"


@dataclass(frozen=True)
class SendJson:
    """Send a JSON message."""

    message: dict[str, Any]


@dataclass(frozen=True)
class SendText:
    """Send a raw text frame (for malformed JSON)."""

    text: str


@dataclass(frozen=True)
class SendBinary:
    """Send a binary frame, which the service never does."""

    data: bytes = b"\x00\x01"


@dataclass(frozen=True)
class Close:
    """Close the WebSocket with a close code."""

    code: int = 1000


@dataclass(frozen=True)
class Drop:
    """Cut the TCP connection without a close frame."""


@dataclass(frozen=True)
class Stall:
    """Stop answering: read what the client sends, never reply again."""


@dataclass(frozen=True)
class Ping:
    """Send a WebSocket ping; the client must answer with a pong."""


@dataclass(frozen=True)
class Notify:
    """Set an event, so a test knows the session got this far."""

    event: asyncio.Event


@dataclass(frozen=True)
class Hold:
    """Wait until a test sets an event before going on (at most `timeout` seconds)."""

    event: asyncio.Event
    timeout: float = 10.0


@dataclass(frozen=True)
class Delay:
    """Wait before going on."""

    seconds: float


type Action = (
    SendJson
    | SendText
    | SendBinary
    | Close
    | Drop
    | Stall
    | Ping
    | Notify
    | Hold
    | Delay
)


def error(error_type: str, reason: str = "injected by the test") -> list[Action]:
    """Return the actions of the service ending a session with an Error."""
    actions: list[Action] = [
        SendJson({"message": "Error", "type": error_type, "reason": reason})
    ]
    if (code := ERROR_CLOSE_CODES.get(error_type)) is not None:
        actions.append(Close(code))
    else:
        actions.append(Close(1000))
    return actions


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


class _EndSession(Exception):
    """Stop handling a connection."""


def validate_start(
    message: dict[str, Any], languages: frozenset[str] | None
) -> tuple[str, str] | None:
    """Return the (error type, reason) the service answers a StartRecognition with."""
    if unknown := set(message) - _START_KEYS:
        return "invalid_message", f"unknown fields: {sorted(unknown)}"
    audio = message.get("audio_format")
    config = message.get("transcription_config")
    if not isinstance(audio, dict) or not isinstance(config, dict):
        return "invalid_message", "audio_format and transcription_config are required"
    if audio.get("type") == "raw":
        if audio.get("encoding") not in _ENCODINGS or not isinstance(
            audio.get("sample_rate"), int
        ):
            return "invalid_audio_type", f"unsupported raw audio: {audio}"
    elif audio.get("type") != "file":
        return "invalid_audio_type", f"unsupported audio type: {audio.get('type')!r}"
    return _validate_transcription(config, languages)


def _validate_transcription(
    config: dict[str, Any], languages: frozenset[str] | None
) -> tuple[str, str] | None:
    """Check a transcription_config the way the service does."""
    if unknown := set(config) - _TRANSCRIPTION_KEYS:
        return "invalid_config", f"unknown fields: {sorted(unknown)}"
    language = config.get("language")
    if not isinstance(language, str) or not language:
        return "invalid_config", "language is required"
    if languages is not None and language not in languages:
        return "invalid_language", f"language not supported: {language}"
    max_delay = config.get("max_delay", 4)
    if not isinstance(max_delay, int | float) or not 0.7 <= max_delay <= 4:
        return "invalid_config", f"max_delay out of range: {max_delay}"
    if "model" in config and "operating_point" in config:
        return "invalid_config", "model and operating_point are exclusive"
    if config.get("model", config.get("operating_point", "standard")) not in _MODELS:
        return "invalid_model", f"model not available: {config.get('model')}"
    if len(config.get("additional_vocab", [])) > 1000:
        return "invalid_config", "too many additional_vocab entries"
    trigger = config.get("conversation_config", {}).get(
        "end_of_utterance_silence_trigger", 0
    )
    if not 0 <= trigger <= 2:
        return "invalid_config", "end_of_utterance_silence_trigger out of range"
    return None


def scripted(transcript: str, **options: Any) -> Callable[[dict[str, Any]], Recognizer]:
    """Return a recognizer factory for a scripted transcript."""
    return lambda _start: ScriptedRecognizer(transcript, **options)


class FakeSpeechmatics:
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
        try:
            await _Session(self, request, ws, record).run()
        except _EndSession:
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


class _Session:
    """The protocol of one connection."""

    def __init__(
        self,
        server: FakeSpeechmatics,
        request: web.Request,
        ws: web.WebSocketResponse,
        record: SessionRecord,
    ) -> None:
        """Hold the connection and its record."""
        self.server = server
        self.request = request
        self.ws = ws
        self.record = record
        self.recognizer: Recognizer | None = None
        self.partials = False
        self.ended = False

    async def send(self, message: dict[str, Any]) -> None:
        """Send a JSON message and record it."""
        if self.partials or message["message"] != "AddPartialTranscript":
            self.record.sent.append(message)
            text = json.dumps(message)
            # Noted before sending: the client may have it before send_str returns.
            if message["message"] == "AddPartialTranscript":
                self.record.partials_sent_at.append(time.monotonic())
            elif message["message"] == "EndOfTranscript":
                self.record.end_of_transcript_at = time.monotonic()
            await self.ws.send_str(text)

    async def fire(self, trigger: str) -> None:
        """Run the actions scripted for a trigger."""
        for action in self.server.actions.get(trigger, []):
            await self.act(action)

    async def act(self, action: Action) -> None:
        """Run one scripted action."""
        match action:
            case SendJson(message):
                await self.send(message)
            case SendText(text):
                self.record.sent.append(text)
                await self.ws.send_str(text)
            case SendBinary(data):
                self.record.sent.append(data)
                await self.ws.send_bytes(data)
            case Close(code):
                await self.ws.close(code=code)
                raise _EndSession
            case Drop():
                if self.request.transport is not None:
                    self.request.transport.abort()
                raise _EndSession
            case Stall():
                async for message in self.ws:
                    self.take(message)
                raise _EndSession
            case Ping():
                await self.ws.ping()
            case Notify(event):
                event.set()
            case Hold(event, timeout):
                async with asyncio.timeout(timeout):
                    await event.wait()
            case Delay(seconds):
                await asyncio.sleep(seconds)

    async def fail(self, error_type: str, reason: str) -> None:
        """End the session with an Error, as the service does."""
        for action in error(error_type, reason):
            await self.act(action)

    def take(self, message: Any) -> dict[str, Any] | bytes | None:
        """Record one frame from the client; return its content."""
        if message.type == WSMsgType.BINARY:
            if self.record.first_audio_at is None:
                self.record.first_audio_at = time.monotonic()
            if self.server.keep_records:
                self.record.audio += message.data
            self.record.frames += 1
            return bytes(message.data)
        if message.type == WSMsgType.PONG:
            self.record.pongs += 1
            return None
        if message.type == WSMsgType.TEXT:
            try:
                parsed = json.loads(message.data)
            except ValueError:
                parsed = {"message": None, "raw": message.data}
            self.record.received.append(parsed)
            return parsed
        return None

    async def run(self) -> None:
        """Serve the session until the client closes it."""
        await self.fire(Trigger.CONNECTED)
        if self.server.info_before_start:
            await self.send(self.server.info)
        async for message in self.ws:
            content = self.take(message)
            if isinstance(content, bytes):
                await self.on_audio(content)
            elif isinstance(content, dict):
                await self.on_message(content)

    async def on_message(self, message: dict[str, Any]) -> None:
        """Answer one JSON message."""
        match message.get("message"):
            case "StartRecognition":
                await self.on_start(message)
            case "EndOfStream":
                await self.on_end_of_stream(message)
            case "ForceEndOfUtterance" if self.recognizer is not None:
                for final in await self.server.recognise(
                    self.recognizer.finish_utterance
                ):
                    await self.send(final)
                await self.send(
                    {
                        "message": "EndOfUtterance",
                        "metadata": {"start_time": 0.0, "end_time": 0.0},
                    }
                )
            case _:
                await self.fail(
                    "invalid_message", f"unexpected message {message.get('message')!r}"
                )

    async def on_start(self, message: dict[str, Any]) -> None:
        """Validate StartRecognition and start recognition."""
        if self.record.start is not None:
            await self.fail("protocol_error", "StartRecognition was sent twice")
        self.record.start = message
        if problem := validate_start(message, self.server.languages):
            await self.fail(*problem)
        await self.fire(Trigger.START)
        if self.server.start_delay:
            await asyncio.sleep(self.server.start_delay)
        try:
            self.recognizer = await self.server.create_recognizer(message)
        except UnsupportedInput as err:
            await self.fail(err.error_type, err.reason)
            return
        self.partials = bool(message["transcription_config"].get("enable_partials"))
        await self.send(
            {
                "message": "RecognitionStarted",
                "id": self.server.session_id.format(n=len(self.server.sessions)),
                "orchestrator_version": "fake",
                "language_pack_info": {
                    "adapted": False,
                    "itn": True,
                    "language_description": "English",
                    "word_delimiter": self.recognizer.word_delimiter,
                    "writing_direction": "left-to-right",
                },
            }
        )
        await self.fire(Trigger.STARTED)

    async def on_audio(self, data: bytes) -> None:
        """Acknowledge an audio frame and send what the recognizer made of it."""
        if self.recognizer is None:
            await self.fail("protocol_error", "audio before RecognitionStarted")
            return
        if self.record.end_of_stream is not None:
            await self.send(
                {
                    "message": "Warning",
                    "type": "add_audio_after_eos",
                    "reason": "audio after EndOfStream",
                }
            )
        if self.server.ack_delay:
            await asyncio.sleep(self.server.ack_delay)
        await self.send({"message": "AudioAdded", "seq_no": self.record.frames})
        if not self.ended:
            for message in await self.server.recognise(self.recognizer.feed, data):
                await self.send(message)
        await self.fire(Trigger.frame(self.record.frames))
        if not self.ended and self.record.frames == self.server.duration_limit_frames:
            await self.on_duration_limit()

    async def on_duration_limit(self) -> None:
        """Stop taking audio, like EndOfStream: finalise what was heard, then end."""
        if self.recognizer is None:
            return
        self.ended = True
        await self.send(
            {
                "message": "Warning",
                "type": "duration_limit_exceeded",
                "reason": "Duration limit exceeded",
                "duration_limit": 7200,
            }
        )
        for final in await self.server.recognise(self.recognizer.finish_utterance):
            await self.send(final)
        await self.send({"message": "EndOfTranscript"})

    async def on_end_of_stream(self, message: dict[str, Any]) -> None:
        """Send the remaining finals and EndOfTranscript."""
        if self.recognizer is None:
            await self.fail("protocol_error", "EndOfStream before RecognitionStarted")
            return
        self.record.end_of_stream = message
        self.record.end_of_stream_at = time.monotonic()
        self.ended = True
        await self.fire(Trigger.END_OF_STREAM)
        if self.server.end_delay:
            await asyncio.sleep(self.server.end_delay)
        for final in await self.server.recognise(self.recognizer.finish):
            await self.send(final)
        await self.send({"message": "EndOfTranscript"})
