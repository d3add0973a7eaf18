"""The Realtime protocol of one connection, as the service speaks it, with scripted faults."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .actions import (
    Action,
    Close,
    Delay,
    Drop,
    Hold,
    Notify,
    Ping,
    SendBinary,
    SendJson,
    SendText,
    Stall,
    Trigger,
    error,
)
from .recognizer import Recognizer, UnsupportedInput
from .validation import validate_start

if TYPE_CHECKING:
    from .server import RealtimeServer, SessionRecord


class EndSession(Exception):
    """Stop handling a connection."""


class SessionProtocol:
    """The protocol of one connection."""

    def __init__(
        self,
        server: RealtimeServer,
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

    async def send_text(self, text: str | bytes) -> None:
        """Send a text frame as it is, even one that is not JSON or not UTF-8."""
        self.record.sent.append(text)
        if isinstance(text, str):
            await self.ws.send_str(text)
        else:
            # aiohttp's writer sends the bytes as they are: no encoding, no check.
            await self.ws._writer.send_frame(text, WSMsgType.TEXT)  # noqa: SLF001

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
                await self.send_text(text)
            case SendBinary(data):
                self.record.sent.append(data)
                await self.ws.send_bytes(data)
            case Close(code):
                await self.ws.close(code=code)
                raise EndSession
            case Drop():
                if self.request.transport is not None:
                    self.request.transport.abort()
                raise EndSession
            case Stall():
                async for message in self.ws:
                    self.take(message)
                raise EndSession
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
