"""Tests for recognising and unwrapping the audio Home Assistant hands over."""

from __future__ import annotations

from collections.abc import AsyncIterator

from homeassistant.components import stt
import pytest

from custom_components.speechmatics.audio import (
    UnsupportedAudioError,
    WavHeader,
    async_open_audio,
    parse_wav_header,
)
from custom_components.speechmatics.realtime import AudioFormat, AudioSourceError

from .common import metadata, wav_file


async def byte_by_byte(data: bytes) -> AsyncIterator[bytes]:
    """Yield audio one byte at a time, the worst split a client can send."""
    for index in range(len(data)):
        yield data[index : index + 1]


async def opened(
    stream: AsyncIterator[bytes], **overrides: object
) -> tuple[AudioFormat, bytes] | None:
    """Return the format the stream opens with and all of its audio."""
    if (audio := await async_open_audio(metadata(**overrides), stream)) is None:
        return None
    audio_format, samples = audio
    return audio_format, b"".join([chunk async for chunk in samples])


async def test_wav_header_split_across_chunks() -> None:
    """Test a header that arrives in pieces is still found and stripped."""
    samples = bytes(range(200))
    start = await opened(byte_by_byte(wav_file(samples, rate=44100)))
    assert start == (AudioFormat(sample_rate=44100), samples)


async def test_raw_pcm_in_tiny_chunks() -> None:
    """Test raw PCM is recognised once four bytes show it is not RIFF."""
    start = await opened(byte_by_byte(b"\x01\x02\x03\x04\x05"))
    assert start == (AudioFormat(sample_rate=16000), b"\x01\x02\x03\x04\x05")


async def test_short_raw_stream() -> None:
    """Test fewer than four bytes of raw audio are still sent."""
    start = await opened(byte_by_byte(b"\x01\x02"))
    assert start == (AudioFormat(sample_rate=16000), b"\x01\x02")


async def test_empty_ogg_stream() -> None:
    """Test an OGG stream without audio has no start."""
    ogg = {"format": stt.AudioFormats.OGG, "codec": stt.AudioCodecs.OPUS}
    assert await opened(byte_by_byte(b""), **ogg) is None


async def test_the_stream_is_closed_with_the_audio() -> None:
    """Test closing the audio closes Home Assistant's stream, and so does having none."""
    stream = byte_by_byte(b"\x01\x02\x03\x04\x05\x06")
    audio = await async_open_audio(metadata(), stream)
    assert audio is not None
    assert await anext(audio[1]) == b"\x01\x02\x03\x04"
    await audio[1].aclose()
    assert stream.ag_frame is None
    empty = byte_by_byte(b"")
    assert await async_open_audio(metadata(), empty) is None
    assert empty.ag_frame is None


async def test_a_failing_stream_is_an_audio_source_error() -> None:
    """Test a stream that raises before its audio is the audio source's error."""
    fault = OSError("no microphone")

    async def broken() -> AsyncIterator[bytes]:
        yield b"\x01"
        raise fault

    with pytest.raises(AudioSourceError) as err:
        await async_open_audio(metadata(), broken())
    assert err.value.__cause__ is fault


def test_parse_wav_header() -> None:
    """Test headers with extra chunks, and the bytes that are still missing."""
    wav = wav_file(bytes(10))
    assert parse_wav_header(wav[:11]) is None
    assert parse_wav_header(wav[:30]) is None
    assert parse_wav_header(wav) == WavHeader(16000, 1, 16, 44)
    with_list = wav[:12] + b"LIST\x04\x00\x00\x00abcd" + wav[12:]
    assert parse_wav_header(with_list) == WavHeader(16000, 1, 16, 56)


def test_endless_wav_header_is_refused() -> None:
    """Test a header that never reaches its data chunk is refused."""
    padding = b"junk" + (70000).to_bytes(4, "little") + bytes(70000)
    with pytest.raises(UnsupportedAudioError, match="too long"):
        parse_wav_header(wav_file(b"")[:36] + padding)
