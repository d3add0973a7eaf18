"""Diagnostics for Speechmatics, with the API key redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant

from .data import SpeechmaticsConfigEntry
from .options import session_vocab

TO_REDACT = {CONF_API_KEY}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SpeechmaticsConfigEntry
) -> dict[str, Any]:
    """Return the entry, its options and what its sessions did."""
    data = entry.runtime_data
    return {
        "entry": async_redact_data(entry.as_dict(), TO_REDACT),
        "client": {
            "url": str(data.client.url),
            "options": repr(data.client.options),
        },
        "sessions": data.sessions,
        "active_sessions": data.client.open_sessions,
        "available": data.health.available,
        "last_error": data.health.last_error,
        # Names are not secrets; how many of each the next session would send.
        "vocabulary": session_vocab(data.options(entry), data.vocabulary.names)[1],
    }
