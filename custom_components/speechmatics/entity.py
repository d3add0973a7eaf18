"""What the entities of an entry share: the service device they belong to."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo

from .const import DOMAIN
from .data import SpeechmaticsConfigEntry


def service_device(entry: SpeechmaticsConfigEntry) -> DeviceInfo:
    """Return the device of an entry: the Speechmatics service at its endpoint."""
    return DeviceInfo(
        identifiers={(DOMAIN, entry.entry_id)},
        name=entry.title,
        manufacturer="Speechmatics",
        model="Realtime API",
        entry_type=DeviceEntryType.SERVICE,
    )
