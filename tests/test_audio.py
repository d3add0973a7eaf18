"""Tests for recognising and unwrapping the audio Home Assistant hands over."""

from __future__ import annotations

from collections.abc import AsyncIterator

from homeassistant.components import stt
import pytest

from custom_components.speechmatics.audio import (
    UnsupportedAudioError,
    WavHeader,
    async_read_start,
    parse_wav_header,
)
from custom_components.speechmatics.realtime import AudioFormat

from .common import metadata, wav_file


async def byte_by_byte(data: bytes) -> AsyncIterator[bytes]:
    """Yield audio one byte at a time, the worst split a client can send."""
    for index in range(len(data)):
        yield data[index : index + 1]


async def test_wav_header_split_across_chunks() -> None:
    """Test a header that arrives in pieces is still found and stripped."""
    samples = bytes(range(200))
    start = await async_read_start(
        metadata(), byte_by_byte(wav_file(samples, rate=44100))
    )
    assert start is not None
    audio_format, head = start
    assert audio_format == AudioFormat(sample_rate=44100)
    assert samples.startswith(head)


async def test_raw_pcm_in_tiny_chunks() -> None:
    """Test raw PCM is recognised once four bytes show it is not RIFF."""
    start = await async_read_start(metadata(), byte_by_byte(b"\x01\x02\x03\x04\x05"))
    assert start == (AudioFormat(sample_rate=16000), b"\x01\x02\x03\x04")


async def test_short_raw_stream() -> None:
    """Test fewer than four bytes of raw audio are still sent."""
    start = await async_read_start(metadata(), byte_by_byte(b"\x01\x02"))
    assert start == (AudioFormat(sample_rate=16000), b"\x01\x02")


async def test_empty_ogg_stream() -> None:
    """Test an OGG stream without audio has no start."""
    ogg = metadata(format=stt.AudioFormats.OGG, codec=stt.AudioCodecs.OPUS)
    assert await async_read_start(ogg, byte_by_byte(b"")) is None


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
