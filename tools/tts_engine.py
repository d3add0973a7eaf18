"""Text-to-speech for the development home, offline: espeak-ng behind the Wyoming protocol.

python -m tools.tts_engine [--host 127.0.0.1] [--port 10200]

Home Assistant's own `wyoming` integration talks to it, so the Assist pipeline of
scripts/develop answers with speech on this machine. Prints its URI once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
import shutil
import wave

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event
from wyoming.info import Attribution, Describe, Info, TtsProgram, TtsVoice
from wyoming.server import AsyncEventHandler, AsyncTcpServer
from wyoming.tts import Synthesize

_LOGGER = logging.getLogger(__name__)

VOICE = "en-us"
LANGUAGES = ["en-US", "en"]
_ESPEAK = Attribution(name="eSpeak NG", url="https://github.com/espeak-ng/espeak-ng")
_SAMPLES_PER_CHUNK = 1024
_SPEAK_TIMEOUT = 30


def describe() -> Info:
    """Return what the service offers: one program with espeak-ng's US English voice."""
    return Info(
        tts=[
            TtsProgram(
                name="espeak-ng",
                description="eSpeak NG on this machine",
                attribution=_ESPEAK,
                installed=True,
                version=None,
                voices=[
                    TtsVoice(
                        name=VOICE,
                        description="US English",
                        attribution=_ESPEAK,
                        installed=True,
                        version=None,
                        languages=LANGUAGES,
                    )
                ],
            )
        ]
    )


async def speak(text: str) -> bytes:
    """Return espeak-ng's WAV file of the text."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        msg = "espeak-ng is missing: scripts/setup installs it"
        raise RuntimeError(msg)
    process = await asyncio.create_subprocess_exec(
        espeak,
        "-v",
        VOICE,
        "--stdout",
        text,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(_SPEAK_TIMEOUT):
            wav, _ = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode:
        msg = f"espeak-ng failed with exit code {process.returncode}"
        raise RuntimeError(msg)
    return wav


class SpeechHandler(AsyncEventHandler):
    """One connection from Home Assistant: describe the service, or speak a text."""

    async def handle_event(self, event: Event) -> bool:
        """Answer Describe and Synthesize; keep the connection open."""
        if Describe.is_type(event.type):
            await self.write_event(describe().event())
        elif Synthesize.is_type(event.type):
            text = Synthesize.from_event(event).text
            _LOGGER.info("Speaking: %s", text)
            await self._write_audio(await speak(text))
        return True

    async def _write_audio(self, wav: bytes) -> None:
        """Send a WAV file's samples as Wyoming audio."""
        with wave.open(io.BytesIO(wav)) as file:
            rate = file.getframerate()
            width = file.getsampwidth()
            channels = file.getnchannels()
            await self.write_event(AudioStart(rate, width, channels).event())
            while samples := file.readframes(_SAMPLES_PER_CHUNK):
                await self.write_event(
                    AudioChunk(rate, width, channels, samples).event()
                )
        await self.write_event(AudioStop().event())


async def start(host: str, port: int) -> AsyncTcpServer:
    """Return the service, listening (stop it with its stop())."""
    server = AsyncTcpServer(host, port)
    await server.start(SpeechHandler)
    return server


async def serve(host: str, port: int) -> None:
    """Serve until cancelled."""
    server = await start(host, port)
    print(f"tcp://{host}:{port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def main() -> None:
    """Parse the command line and serve until Ctrl+C."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=10200)
    arguments = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(arguments.host, arguments.port))


if __name__ == "__main__":
    main()
