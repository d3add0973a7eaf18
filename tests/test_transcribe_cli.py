"""scripts/transcribe: a WAV file, and the microphone path through an ALSA file device."""

from __future__ import annotations

import asyncio
from pathlib import Path
import signal
import sys

import pytest

from tools.speechmatics_server import RealtimeServer
from tools.spoken import normalised, spoken

from .common import wav_file

ROOT = Path(__file__).parents[1]
COMMAND = "turn on the kitchen light"
VOCAB = ["--vocab", "kitchen light", "--vocab", "front door"]


async def _cli(
    *arguments: str, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    """Start the command-line tool."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tools.transcribe",
        *arguments,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _finish(process: asyncio.subprocess.Process) -> tuple[int, str, str]:
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _finals(out: str) -> list[str]:
    return [
        line.removeprefix("[Final]: ")
        for line in out.splitlines()
        if line.startswith("[Final]: ")
    ]


async def test_file(local_engine: RealtimeServer, tmp_path: Path) -> None:
    """Test a WAV file is transcribed with partials, then finals, and a clean exit."""
    path = tmp_path / "command.wav"
    path.write_bytes(wav_file(spoken(COMMAND)))
    code, out, err = await _finish(
        await _cli("--file", str(path), "--url", local_engine.url, *VOCAB)
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("[Partial]: ")
    assert normalised(" ".join(_finals(out))) == COMMAND


async def test_end_of_utterance(local_engine: RealtimeServer, tmp_path: Path) -> None:
    """Test --end-of-utterance prints [EndOfUtterance] after each utterance's final."""
    path = tmp_path / "two.wav"
    path.write_bytes(wav_file(spoken(COMMAND) + spoken("lock the front door")))
    code, out, err = await _finish(
        await _cli(
            "--file",
            str(path),
            "--url",
            local_engine.url,
            *VOCAB,
            "--end-of-utterance",
            "0.5",
            "--no-partials",
        )
    )
    assert code == 0, err
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "[Final]",
        "[EndOfUtterance]",
        "[Final]",
        "[EndOfUtterance]",
    ], out
    assert [normalised(line) for line in _finals(out)] == [
        COMMAND,
        "lock the front door",
    ]


@pytest.mark.parametrize("seconds", ["5", "0", "soon"])
async def test_end_of_utterance_out_of_range(tmp_path: Path, seconds: str) -> None:
    """Test a trigger the service would refuse is a usage error before connecting."""
    code, out, err = await _finish(await _cli("--end-of-utterance", seconds))
    assert (code, out) == (2, "")
    assert "--end-of-utterance: expected seconds above 0 and at most 2" in err


async def test_microphone_until_ctrl_c(
    local_engine: RealtimeServer, tmp_path: Path
) -> None:
    """Test the microphone path: PortAudio reads an ALSA device fed from a file."""
    raw = tmp_path / "microphone.raw"
    raw.write_bytes(spoken(COMMAND))
    config = tmp_path / "asound.conf"
    config.write_text(
        "pcm.!default {\n  type file\n  slave.pcm { type null }\n"
        f'  file "/dev/null"\n  infile "{raw}"\n  format "raw"\n}}\n'
    )
    process = await _cli(
        "--url", local_engine.url, *VOCAB, env={"ALSA_CONFIG_PATH": str(config)}
    )
    assert process.stdout is not None
    seen: list[str] = []
    async with asyncio.timeout(60):
        while not any(line.startswith("[Final]: ") for line in seen):
            line = (await process.stdout.readline()).decode()
            assert line, "the tool ended before a final"
            seen.append(line.rstrip("\n"))
    process.send_signal(signal.SIGINT)
    code, out, err = await _finish(process)
    assert code == 0, err
    assert normalised(" ".join(_finals("\n".join([*seen, out])))).startswith(COMMAND)


async def test_no_microphone(tmp_path: Path, socket_enabled: None) -> None:
    """Test a machine without a capture device gets one clear line and exit code 2."""
    config = tmp_path / "asound.conf"
    config.write_text("pcm.!default {\n  type hw\n  card 99\n}\n")  # no such card
    code, out, err = await _finish(
        await _cli(
            "--url", "ws://127.0.0.1:9/v2", env={"ALSA_CONFIG_PATH": str(config)}
        )
    )
    assert code == 2
    assert "transcribe: no microphone to record from" in err
    assert not out


@pytest.mark.parametrize(
    ("arguments", "env", "message"),
    [
        ([], {}, "transcribe: set SPEECHMATICS_API_KEY"),
        (["--url", "http://x"], {}, "transcribe: invalid"),
    ],
)
async def test_usage_errors(
    tmp_path: Path, arguments: list[str], env: dict[str, str], message: str
) -> None:
    """Test a missing key or a bad URL gets one line and exit code 2."""
    path = tmp_path / "command.wav"
    path.write_bytes(wav_file(bytes(3200)))
    code, out, err = await _finish(await _cli("--file", str(path), *arguments, env=env))
    assert (code, out) == (2, "")
    assert err.startswith(message), err


async def test_wrong_key_and_unreachable(
    local_engine: RealtimeServer, tmp_path: Path
) -> None:
    """Test a rejected key and an unreachable server each get one line and exit code 1."""
    local_engine.api_key = "the right key"
    path = tmp_path / "command.wav"
    path.write_bytes(wav_file(spoken(COMMAND)))
    for url, message in (
        (local_engine.url, "API key was rejected"),
        ("ws://127.0.0.1:9/v2", "cannot connect to 127.0.0.1"),
    ):
        code, out, err = await _finish(
            await _cli(
                "--file", str(path), "--url", url, env={"SPEECHMATICS_API_KEY": "wrong"}
            )
        )
        assert (code, out) == (1, "")
        assert err.startswith("transcribe: "), err
        assert message in err
        assert "wrong" not in err
