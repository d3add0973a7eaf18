"""A Speechmatics-compatible Realtime engine on this machine: no account, no network.

python -m tools.local_engine [--host 127.0.0.1] [--port 9000] [--api-key KEY]

Serves the Realtime protocol on ws://HOST:PORT/v2 with PocketSphinx behind it (US English
only; see tools/speechmatics_server/sphinx.py). Prints the URL on its first line of
output once it listens. A development stand-in, not a replacement for Speechmatics.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from tools.speechmatics_server import RealtimeServer
from tools.speechmatics_server.sphinx import SphinxRecognizer, pronunciations

LANGUAGES = frozenset({"en"})


def engine(
    host: str = "127.0.0.1", port: int = 0, api_key: str | None = None
) -> RealtimeServer:
    """Return the local engine's server (start it with `async with`)."""
    server = RealtimeServer(
        api_key=api_key,
        recognizer=SphinxRecognizer,
        languages=LANGUAGES,
        host=host,
        port=port,
        keep_records=False,
        recognizer_in_thread=True,
    )
    server.info = {
        "message": "Info",
        "type": "recognition_quality",
        "quality": "broadcast",
        "reason": "Running recognition using PocketSphinx, US English, on this machine",
    }
    return server


async def serve(arguments: argparse.Namespace) -> None:
    """Serve until cancelled."""
    await asyncio.to_thread(pronunciations)  # the dictionary, read once up front
    async with engine(
        arguments.host, arguments.port, arguments.api_key or None
    ) as server:
        print(server.url, flush=True)
        await asyncio.Event().wait()


def main() -> None:
    """Parse the command line and serve until Ctrl+C."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument(
        "--api-key", default="", help="require this key (default: accept any)"
    )
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
