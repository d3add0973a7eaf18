"""Config flow for the Speechmatics integration."""

from __future__ import annotations

from homeassistant.config_entries import ConfigFlow

from .const import DOMAIN


class SpeechmaticsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Handle a config flow for Speechmatics."""

    VERSION = 1
