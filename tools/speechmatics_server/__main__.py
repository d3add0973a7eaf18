"""Run the fake Speechmatics server on 127.0.0.1 until interrupted.

python -m tools.speechmatics_server [--port N] [--api-key KEY] [--transcript TEXT]
Prints the ws:// URL on the first line of its output once it is listening.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .server import RealtimeServer


async def serve(arguments: argparse.Namespace) -> None:
    """Serve until cancelled."""
    async with RealtimeServer(
        api_key=arguments.api_key or None,
        transcript=arguments.transcript,
        port=arguments.port,
    ) as server:
        print(server.url, flush=True)
        await asyncio.Event().wait()


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default="")
    parser.add_argument("--transcript", default="Turn on the kitchen light.")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
