"""The audio side of a session: frames, the acknowledgement window and the end of the stream."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from . import messages
from .connection import Connection
from .errors import InvalidMessage, SessionTimeout, TimeoutStage


@dataclass(slots=True)
class SessionStats:
    """What went over the wire."""

    audio_bytes_in: int = 0
    audio_bytes_sent: int = 0
    frames_sent: int = 0
    frames_acked: int = 0
    audio_bytes_acked: int = 0


class AudioSender:
    """Keeps the caller's audio and sends it as frames, within the acknowledgement window.

    `put` is called by whoever reads the caller's audio, from the first byte on: before
    the session has started too. It waits while more than a window of audio is kept, so
    a source faster than the service is held back instead of filling memory. `run` is
    the one task that sends: frames, ForceEndOfUtterance in order, then EndOfStream.
    """

    def __init__(self, frame_bytes: int, window: int, ack_timeout: float) -> None:
        """Frame audio in frame_bytes; at most `window` frames may be unacknowledged."""
        self.stats = SessionStats()
        self._frame_bytes = frame_bytes
        self._window = window
        self._ack_timeout = ack_timeout
        self._high_water = frame_bytes * window
        self._pending = bytearray()
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._acked = asyncio.Event()
        self._input_ended = False
        self._stopped = False
        # Where in the audio each ForceEndOfUtterance goes (bytes read before it).
        self._forced_ends: deque[int] = deque()
        # The audio bytes sent up to each frame not yet acknowledged (at most a window).
        self._unacked: deque[int] = deque()

    async def put(self, data: bytes) -> None:
        """Keep audio to send; wait while more than a window of it is kept.

        Nothing but the sender makes room: the wait ends when frames go out, or with
        the session (whose start, acknowledgement and finish timeouts bound it).
        """
        self._pending += data
        self.stats.audio_bytes_in += len(data)
        if len(self._pending) >= self._frame_bytes:
            # Less than a frame waits for more audio, for the end or for the start.
            self._wake.set()
        while len(self._pending) > self._high_water:
            self._room.clear()
            await self._room.wait()

    def end_input(self) -> None:
        """Send what is kept, then EndOfStream."""
        self._input_ended = True
        self._wake.set()

    def end_now(self) -> None:
        """Send EndOfStream at once: the audio kept and not yet sent is dropped."""
        self._input_ended = True
        self._forced_ends.clear()
        self._pending.clear()
        self._room.set()
        self._wake.set()

    def force_end_of_utterance(self) -> None:
        """Send ForceEndOfUtterance after the audio kept now."""
        if self._input_ended:
            msg = "the audio has ended"
            raise RuntimeError(msg)
        self._forced_ends.append(self.stats.audio_bytes_in)
        self._wake.set()

    def stop(self) -> None:
        """Send nothing more: the server takes no more audio."""
        self._stopped = True
        self._wake.set()

    def acknowledge(self, seq_no: int) -> None:
        """Take the server's AudioAdded; raise InvalidMessage for a frame never sent."""
        stats = self.stats
        if seq_no > stats.frames_sent:
            msg = (
                f"the server acknowledged frame {seq_no}, "
                f"but {stats.frames_sent} were sent"
            )
            raise InvalidMessage(msg)
        while stats.frames_acked < seq_no and self._unacked:
            stats.frames_acked += 1
            stats.audio_bytes_acked = self._unacked.popleft()
        self._acked.set()

    async def run(self, connection: Connection) -> None:
        """Send until EndOfStream is out, or until the server takes no more audio."""
        # What arrived before the start goes out at once, even less than a frame: the
        # server can begin while the next frame fills.
        flush = True
        while not self._stopped:
            pending = len(self._pending)
            if self._forced_ends:
                # The audio up to the forced end goes first, then the message.
                if before := self._forced_ends[0] - self.stats.audio_bytes_sent:
                    await self._send_frame(connection, min(before, self._frame_bytes))
                else:
                    self._forced_ends.popleft()
                    await connection.send_json(messages.force_end_of_utterance())
            elif self._input_ended:
                if pending > self._frame_bytes:
                    await self._send_frame(connection)
                    continue
                await self._send_end(connection)
                return
            elif pending >= self._frame_bytes or (pending and flush):
                await self._send_frame(connection)
            else:
                flush = False
                self._wake.clear()
                await self._wake.wait()

    async def _send_end(self, connection: Connection) -> None:
        """Send the last frame (what is left) and EndOfStream together."""
        frame = bytes(self._pending)
        if frame:
            await self._wait_for_window()
            self._pending.clear()
            self._count(frame)
        await connection.send_end(frame, messages.end_of_stream(self.stats.frames_sent))

    async def _send_frame(self, connection: Connection, size: int = 0) -> None:
        """Send the next frame (of at most size bytes) once the window has room for it."""
        await self._wait_for_window()
        size = size or self._frame_bytes
        frame = bytes(self._pending[:size])
        if not frame:  # end_now dropped it meanwhile
            return
        del self._pending[:size]
        # Counted before the send: its acknowledgement may be handled before it returns.
        self._count(frame)
        await connection.send_audio(frame)
        if len(self._pending) <= self._high_water:
            self._room.set()

    def _count(self, frame: bytes) -> None:
        """Count a frame sent."""
        self.stats.frames_sent += 1
        self.stats.audio_bytes_sent += len(frame)
        self._unacked.append(self.stats.audio_bytes_sent)

    async def _wait_for_window(self) -> None:
        """Wait until fewer than `window` frames are unacknowledged."""
        stats = self.stats
        if stats.frames_sent - stats.frames_acked >= self._window:
            try:
                async with asyncio.timeout(self._ack_timeout):
                    while stats.frames_sent - stats.frames_acked >= self._window:
                        self._acked.clear()
                        await self._acked.wait()
            except TimeoutError as err:
                raise SessionTimeout(TimeoutStage.ACK, self._ack_timeout) from err
