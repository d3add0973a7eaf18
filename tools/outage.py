"""Switch a local engine's outage: python -m tools.outage PORT STATUS (503, or null to end it).

The engine refuses every WebSocket handshake with that HTTP status until switched back.
"""

from __future__ import annotations

import json
import sys
import urllib.request


def main() -> None:
    """Tell the engine on 127.0.0.1:PORT which status to refuse with."""
    port, status = sys.argv[1:]
    request = urllib.request.Request(
        f"http://127.0.0.1:{int(port)}/_config",
        data=json.dumps({"http_status": json.loads(status)}).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5):  # noqa: S310  # http:// on loopback
        pass
    print("outage" if json.loads(status) else "serving again", flush=True)


if __name__ == "__main__":
    main()
