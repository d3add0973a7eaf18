"""Transcribe the microphone or a WAV file with the integration's Realtime client.

python -m tools.transcribe [--file speech.wav] [--url ws://127.0.0.1:9000/v2] [options]

Streams to Speechmatics (the API key from SPEECHMATICS_API_KEY) or to any --url, such as
the local engine, with the integration's options, and prints `[Partial]: ...` and
`[Final]: ...` lines as they arrive (and `[EndOfUtterance]` with --end-of-utterance):
until the end of the file, or until Ctrl+C, which ends the stream and prints the
remaining finals.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
import contextlib
import os
import signal
import sys
import wave

import aiohttp

from custom_components.speechmatics.const import DEFAULT_MAX_DELAY, DEFAULT_MODEL
from custom_components.speechmatics.realtime import (
    REGION_URLS,
    AudioFormat,
    EndOfUtterance,
    FinalTranscript,
    PartialTranscript,
    RealtimeClient,
    SpeechmaticsError,
    TranscriptionConfig,
    parse_vocab,
    validate_url,
)
from custom_components.speechmatics.realtime.config import END_OF_UTTERANCE_RANGE

RATE = 16000
CHUNK_FRAMES = 1600  # 100 ms


class UsageError(Exception):
    """A problem the user can fix: printed as one line."""


def read_wav(path: str) -> tuple[int, bytes]:
    """Return the sample rate and the samples of a 16-bit mono WAV file."""
    try:
        with wave.open(path, "rb") as wav:
            if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
                msg = f"{path}: a 16-bit mono WAV file is needed"
                raise UsageError(msg)
            return wav.getframerate(), wav.readframes(wav.getnframes())
    except (OSError, wave.Error, EOFError) as err:
        msg = f"cannot read {path}: {err}"
        raise UsageError(msg) from err


async def in_chunks(
    samples: bytes, rate: int, stop: asyncio.Event
) -> AsyncIterator[bytes]:
    """Yield audio in 100 ms chunks until the end or until stop is set."""
    step = rate // 10 * 2
    for start in range(0, len(samples), step):
        if stop.is_set():
            return
        yield samples[start : start + step]


@contextlib.asynccontextmanager
async def microphone(stop: asyncio.Event) -> AsyncIterator[AsyncIterator[bytes]]:
    """Open the default microphone; give its 100 ms chunks until stop is set."""
    import pyaudio  # noqa: PLC0415  # only the microphone needs PortAudio

    audio = pyaudio.PyAudio()
    try:
        try:
            stream = audio.open(
                format=pyaudio.paInt16,
                channels=1,
                rate=RATE,
                input=True,
                frames_per_buffer=CHUNK_FRAMES,
            )
        except OSError as err:
            msg = f"no microphone to record from: {err}"
            raise UsageError(msg) from err

        async def chunks() -> AsyncIterator[bytes]:
            while not stop.is_set():
                data = await asyncio.to_thread(
                    stream.read, CHUNK_FRAMES, exception_on_overflow=False
                )
                if not data:
                    return
                yield data

        try:
            yield chunks()
        finally:
            stream.close()
    finally:
        audio.terminate()


async def transcribe(arguments: argparse.Namespace, stop: asyncio.Event) -> None:
    """Stream the audio to one Realtime session and print what comes back."""
    url = REGION_URLS.get(arguments.url, arguments.url)
    try:
        validate_url(url)
    except ValueError as err:
        msg = f"invalid --url: {err}"
        raise UsageError(msg) from err
    api_key = os.environ.get("SPEECHMATICS_API_KEY") or None
    if api_key is None and url in REGION_URLS.values():
        msg = "set SPEECHMATICS_API_KEY, or give --url of another server"
        raise UsageError(msg)
    try:
        vocab = parse_vocab(arguments.vocab)
    except ValueError as err:
        msg = f"invalid --vocab entry: {err}"
        raise UsageError(msg) from err
    async with contextlib.AsyncExitStack() as stack:
        if arguments.file:
            rate, samples = read_wav(arguments.file)
            audio = in_chunks(samples, rate, stop)
        else:
            rate = RATE
            audio = await stack.enter_async_context(microphone(stop))
        config = TranscriptionConfig(
            language=arguments.language,
            model=arguments.model,
            max_delay=arguments.max_delay,
            enable_partials=not arguments.no_partials,
            additional_vocab=vocab,
            end_of_utterance_silence_trigger=arguments.end_of_utterance,
        )
        http = await stack.enter_async_context(aiohttp.ClientSession())
        client = RealtimeClient(http, api_key, url, sdk_id="speechmatics-ha-cli")
        session = client.session(config, AudioFormat(sample_rate=rate))
        async with contextlib.aclosing(session.transcribe(audio)) as events:
            async for event in events:
                if isinstance(event, PartialTranscript) and event.text:
                    print(f"[Partial]: {event.text}", flush=True)
                elif isinstance(event, FinalTranscript) and event.text.strip():
                    print(f"[Final]: {event.text.strip()}", flush=True)
                elif isinstance(event, EndOfUtterance):
                    print("[EndOfUtterance]", flush=True)
        await client.close()


async def run(arguments: argparse.Namespace) -> int:
    """Run until the end of the audio or Ctrl+C; return the exit code."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    try:
        await transcribe(arguments, stop)
    except UsageError as err:
        print(f"transcribe: {err}", file=sys.stderr)
        return 2
    except SpeechmaticsError as err:
        print(f"transcribe: {err}", file=sys.stderr)
        return 1
    finally:
        loop.remove_signal_handler(signal.SIGINT)
    return 0


def end_of_utterance(value: str) -> float:
    """Parse --end-of-utterance: seconds of silence, as the service takes them."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not END_OF_UTTERANCE_RANGE[0] < seconds <= END_OF_UTTERANCE_RANGE[1]:
        msg = f"expected seconds above 0 and at most 2, not {value!r}"
        raise argparse.ArgumentTypeError(msg)
    return seconds


def main() -> None:
    """Parse the command line and transcribe."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--file", help="a 16-bit mono WAV file instead of the microphone"
    )
    parser.add_argument(
        "--url",
        default="eu",
        help="eu, us, global, or the ws:// or wss:// URL of a Realtime server",
    )
    parser.add_argument("--language", default="en")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, choices=["standard", "enhanced"]
    )
    parser.add_argument("--max-delay", type=float, default=DEFAULT_MAX_DELAY)
    parser.add_argument("--no-partials", action="store_true")
    parser.add_argument(
        "--end-of-utterance",
        type=end_of_utterance,
        metavar="SECONDS",
        help="ask for EndOfUtterance after this much silence after speech (0-2 s)",
    )
    parser.add_argument(
        "--vocab",
        action="append",
        default=[],
        metavar="'PHRASE[: SOUNDS LIKE, ...]'",
        help="additional vocabulary, as in the integration's options (repeatable)",
    )
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
