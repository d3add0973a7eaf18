"""Fixtures for the Speechmatics tests."""

from __future__ import annotations

import pytest

# Imported before the test plugin's hass fixture runs, so Home Assistant finds this
# repository's custom_components rather than the plugin's own testing config.
import custom_components.speechmatics  # noqa: F401


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration under test in every test."""
