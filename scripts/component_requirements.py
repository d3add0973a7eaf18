"""Print the pinned requirements of the Home Assistant components the tests load.

The pins come from the manifests of the installed Home Assistant, so they always
match the release under test and are never written down twice.
"""

from __future__ import annotations

from importlib.util import find_spec
import json
from pathlib import Path
import sys

ROOT_COMPONENTS = (
    "assist_pipeline",
    "stt",
    "conversation",
    "tts",
    "intent",
    "ffmpeg",
    "wyoming",  # scripts/develop's text-to-speech
)
# Home Assistant does not start without its frontend (recovery mode); scripts/develop and
# tests/test_develop.py start a real instance. Its own requirement only: the integrations
# it loads after itself are optional. The frontend lists every service, which on 2026.10
# imports the camera component to describe them (its JPEG library, nothing more).
OWN_ONLY = ("frontend", "camera")


def components_dir() -> Path:
    """Return the folder of Home Assistant's built-in components."""
    spec = find_spec("homeassistant")
    if spec is None or spec.origin is None:
        sys.exit("homeassistant is not installed in this environment")
    return Path(spec.origin).parent / "components"


def requirements(roots: tuple[str, ...]) -> list[str]:
    """Collect the requirements of the roots and of every dependency they pull in."""
    base = components_dir()
    own = {
        requirement
        for domain in OWN_ONLY
        for requirement in json.loads(
            (base / domain / "manifest.json").read_text()
        ).get("requirements", [])
    }
    seen: set[str] = set()
    pending = list(roots)
    found: set[str] = set()
    while pending:
        domain = pending.pop()
        if domain in seen:
            continue
        seen.add(domain)
        manifest = json.loads((base / domain / "manifest.json").read_text())
        found.update(manifest.get("requirements", []))
        pending.extend(manifest.get("dependencies", []))
        pending.extend(manifest.get("after_dependencies", []))
    return sorted(found | own)


if __name__ == "__main__":
    print("\n".join(requirements(ROOT_COMPONENTS)))
