"""A session that ends with the speaker's turn: EndOfUtterance, no speech, maximum length."""

from __future__ import annotations

import asyncio

import pytest

from custom_components.speechmatics.realtime import (
    AudioFormat,
    EndOfTranscript,
    EndOfTurn,
    EndOfUtterance,
    RealtimeClient,
    SessionClosed,
    TranscriptionConfig,
    Turn,
    TurnEnd,
)
from tools.speechmatics_server import (
    Drop,
    Hold,
    RealtimeServer,
    SendJson,
    Trigger,
    error,
    scripted,
)

from .common import TEXT, assert_closed, collect, held_audio, speech

CONFIG = TranscriptionConfig(
    language="en", enable_partials=True, end_of_utterance_silence_trigger=0.5
)
# The scripted recognizer hears a word every 0.3 s: TEXT's five words take 1.5 s,
# and its EndOfUtterance follows after 0.5 s more of audio.
SPOKEN = speech(2.5)
PAUSE = {"message": "EndOfUtterance", "metadata": {"start_time": 0.1, "end_time": 0.1}}


class Fed:
    """An audio stream a test feeds while the session runs; it records being closed."""

    def __init__(self, audio: bytes) -> None:
        """Yield audio in 10 ms chunks, then keep the stream open until released."""
        self.release = asyncio.Event()
        self.read = 0
        self.closed = asyncio.Event()
        self._audio = audio

    async def stream(self):  # noqa: ANN201  # an async generator of bytes
        """Yield the audio, then hold the stream open (a user still talking)."""
        try:
            async for chunk in held_audio(self._audio, self.release, speech(5.0)):
                self.read += len(chunk)
                yield chunk
        finally:
            self.closed.set()


async def test_the_turn_ends_at_the_end_of_utterance(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test EndOfUtterance after final text ends the turn while the audio goes on."""
    fed = Fed(SPOKEN)
    session = client.session(CONFIG, turn=Turn())
    events = await collect(session, fed.stream())

    assert events[-2:] == [
        EndOfUtterance(1.5, 1.5),
        EndOfTurn(TEXT, TurnEnd.END_OF_UTTERANCE),
    ]
    assert session.transcript.final_text == TEXT
    # The audio is closed without being released, and the session ends by itself.
    async with asyncio.timeout(5):
        await fed.closed.wait()
    assert not fed.release.is_set()
    await assert_closed(fake_speechmatics)
    assert session.complete
    assert session.failure is None
    assert client.open_sessions == 0
    record = fake_speechmatics.sessions[0]
    assert record.received[-1] == {
        "message": "EndOfStream",
        "last_seq_no": record.frames,
    }
    assert record.sent_messages[-1] == "EndOfTranscript"
    # Nothing was sent that the stream did not yield before the end of the turn.
    assert len(record.audio) <= fed.read <= len(SPOKEN)


async def test_no_frame_is_sent_after_the_end_of_the_turn(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test the audio not yet sent at the end of the turn is dropped, not sent."""
    fed = Fed(SPOKEN)
    session = client.session(CONFIG, turn=Turn())
    async for event in session.transcribe(fed.stream()):
        if isinstance(event, EndOfTurn):
            sent = session.stats.audio_bytes_sent
    await fake_speechmatics.wait_closed()
    record = fake_speechmatics.sessions[0]
    assert len(record.audio) == sent == session.stats.audio_bytes_sent
    assert "Warning" not in record.sent_messages  # no audio after EndOfStream


async def test_an_end_of_utterance_without_words_keeps_listening(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test EndOfUtterance before any final (noise, a cough) does not end the turn."""
    fake_speechmatics.actions = {Trigger.frame(1): [SendJson(PAUSE)]}
    session = client.session(CONFIG, turn=Turn())
    events = await collect(session, Fed(SPOKEN).stream())

    pauses = [event for event in events if isinstance(event, EndOfUtterance)]
    assert len(pauses) == 2
    assert events[-1] == EndOfTurn(TEXT, TurnEnd.END_OF_UTTERANCE)
    await client.close()


async def test_no_speech_ends_the_turn_empty(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test audio without a word ends the turn, empty, after no_speech seconds of it."""
    fake_speechmatics.recognizer = scripted("")
    fed = Fed(speech(3.0))
    session = client.session(CONFIG, turn=Turn(no_speech=2.0, max_length=4.0))
    events = await collect(session, fed.stream())

    assert events[-1] == EndOfTurn("", TurnEnd.NO_SPEECH)
    assert session.stats.audio_bytes_acked >= 2 * 32000
    await client.close()
    await assert_closed(fake_speechmatics)
    assert fed.closed.is_set()
    assert not fed.release.is_set()
    assert fake_speechmatics.sessions[0].received[-1]["message"] == "EndOfStream"


async def test_a_word_before_no_speech_keeps_the_turn(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test a partial before the no-speech bound keeps the session listening."""
    fake_speechmatics.recognizer = scripted("Lights.", bytes_per_word=48000)
    session = client.session(CONFIG, turn=Turn(no_speech=2.0, max_length=4.0))
    events = await collect(session, Fed(speech(2.5)).stream())

    assert events[-1] == EndOfTurn("Lights.", TurnEnd.END_OF_UTTERANCE)
    await client.close()


async def test_max_length_forces_the_end_of_the_utterance(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test a turn that goes on gets ForceEndOfUtterance and ends with what was said."""
    words = " ".join(["one", "two", "three"] * 5)
    fake_speechmatics.recognizer = scripted(words)
    fed = Fed(speech(6.0))
    session = client.session(CONFIG, turn=Turn(no_speech=1.0, max_length=3.0))
    events = await collect(session, fed.stream())

    assert events[-1] == EndOfTurn(" ".join(words.split()[:10]), TurnEnd.MAX_LENGTH)
    await client.close()
    record = fake_speechmatics.sessions[0]
    messages = [message["message"] for message in record.received]
    assert messages == ["StartRecognition", "ForceEndOfUtterance", "EndOfStream"]
    # No audio past the maximum length is read or sent.
    assert len(record.audio) == fed.read == 3 * 32000
    assert fed.closed.is_set()


async def test_the_audio_ending_first_ends_the_session_as_before(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test a stream that ends before the pause ends with EndOfTranscript."""
    session = client.session(CONFIG, turn=Turn())
    events = await collect(session, speech(1.6))

    assert events[-1] == EndOfTranscript(TEXT)
    assert not any(isinstance(event, EndOfTurn) for event in events)


@pytest.mark.parametrize(
    "fault",
    [[Drop()], error("unknown_error")],
    ids=["drop", "error"],
)
async def test_a_fault_after_the_turn_ends_only_the_session(
    client: RealtimeClient, fake_speechmatics: RealtimeServer, fault: list
) -> None:
    """Test a drop or an Error after the end of the turn leaves the turn's result."""
    fake_speechmatics.actions = {Trigger.END_OF_STREAM: fault}
    session = client.session(CONFIG, turn=Turn())
    events = await collect(session, Fed(SPOKEN).stream())

    assert events[-1] == EndOfTurn(TEXT, TurnEnd.END_OF_UTTERANCE)
    await client.close()
    await assert_closed(fake_speechmatics)
    assert session.failure is not None
    assert session.transcript.final_text == TEXT


async def test_closing_a_finishing_session_stops_it(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test client.close() stops a session finishing in the background at once."""
    hold = asyncio.Event()
    fake_speechmatics.actions = {Trigger.END_OF_STREAM: [Hold(hold)]}
    session = client.session(CONFIG, turn=Turn())
    await collect(session, Fed(SPOKEN).stream())
    assert client.open_sessions == 1

    async with asyncio.timeout(5):
        await client.close()
    hold.set()
    assert client.open_sessions == 0
    assert isinstance(session.failure, SessionClosed)
    await assert_closed(fake_speechmatics)


def test_a_turn_needs_the_service_end_of_utterance(client: RealtimeClient) -> None:
    """Test a turn without the silence trigger is refused: it would never end."""
    with pytest.raises(ValueError, match="end_of_utterance_silence_trigger"):
        client.session(TranscriptionConfig(language="en"), turn=Turn())


@pytest.mark.parametrize(("no_speech", "max_length"), [(0, 5), (6, 5), (-1, 5)])
def test_turn_bounds_are_checked(no_speech: float, max_length: float) -> None:
    """Test bounds that cannot work are refused."""
    with pytest.raises(ValueError, match="no_speech"):
        Turn(no_speech=no_speech, max_length=max_length)


async def test_file_audio_has_no_audio_bounds(
    client: RealtimeClient, fake_speechmatics: RealtimeServer
) -> None:
    """Test a container file (no byte rate) still ends at the end of utterance."""
    session = client.session(CONFIG, AudioFormat.file(), turn=Turn(1.0, 1.0))
    events = await collect(session, Fed(SPOKEN).stream())

    assert events[-1] == EndOfTurn(TEXT, TurnEnd.END_OF_UTTERANCE)
    await client.close()
