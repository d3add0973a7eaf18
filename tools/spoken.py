"""Real speech for the local engine: espeak-ng at 16 kHz, for its tests and benchmark."""

from __future__ import annotations

import functools
import io
import re
import shutil
import subprocess
import wave

import numpy as np

RATE = 16000
# A small test home: the names its commands use (the integration's additional_vocab).
HOME = (
    "kitchen light",
    "living room light",
    "porch light",
    "desk lamp",
    "ceiling fan",
    "front door",
    "garage door",
    "thermostat",
    "bedroom",
    "office",
)
# espeak-ng's US English voice and four of its variants: different speakers.
VOICES = ("en-us", "en-us+m1", "en-us+m3", "en-us+m7", "en-us+f2")
COMMANDS = (
    "turn on the kitchen light",
    "turn off the living room light",
    "lock the front door",
    "open the garage door",
    "set the thermostat to twenty two degrees",
    "what is the temperature in the office",
    "set the porch light to fifty percent",
    "turn on the desk lamp",
    "is the front door locked",
    "dim the living room light to thirty percent",
    "turn off the ceiling fan",
    "close the garage door",
)


@functools.cache
def voice(text: str, voice: str = "en-us", words_per_minute: int = 150) -> np.ndarray:
    """Return text spoken by espeak-ng at 16 kHz, as float samples, with nothing around it.

    espeak-ng speaks at 22050 Hz; an FFT resample keeps the band the recogniser uses.
    """
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        msg = "espeak-ng is missing: scripts/setup installs it"
        raise RuntimeError(msg)
    wav = subprocess.run(  # noqa: S603  # fixed arguments, text from the caller
        [espeak, "-v", voice, "-s", str(words_per_minute), "--stdout", text],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    with wave.open(io.BytesIO(wav)) as file:
        rate = file.getframerate()
        samples = np.frombuffer(file.readframes(file.getnframes()), dtype="<i2")
    length = len(samples) * RATE // rate
    spectrum = np.fft.rfft(samples.astype(np.float64))[: length // 2 + 1]
    resampled: np.ndarray = np.fft.irfft(spectrum, length) * length / len(samples)
    return resampled


@functools.cache
def spoken(text: str, voice_name: str = "en-us", words_per_minute: int = 150) -> bytes:
    """Return text spoken by espeak-ng as 16 kHz mono pcm_s16le, with quiet around it.

    A little noise stands in for the room before and after the words.
    """
    resampled = voice(text, voice_name, words_per_minute)
    noise = np.random.default_rng(len(text)).normal(0, 30, RATE)
    audio = np.concatenate((noise[: RATE // 2], resampled, noise))
    return np.clip(audio, -32768, 32767).astype("<i2").tobytes()


def normalised(text: str | None) -> str:
    """Return text without case and punctuation, for comparing transcripts."""
    return " ".join(re.findall(r"[a-z0-9']+", (text or "").lower()))
