"""Load Home Assistant ahead of the test plugin, for every release the tests cover.

Loaded with ``pytest -p tests.ha_compat`` so it runs before any other plugin.
"""

# Home Assistant >= 2026.11 aliases httpx to httpx2 when it is first imported and fails
# when a pytest plugin imported httpx before it; importing it here comes first.
import homeassistant  # noqa: F401
from homeassistant.components import logger

# The test plugin imports this helper from the logger package, where 2026.11 stopped
# re-exporting it (it lives on in logger.helpers).
if not hasattr(logger, "_clear_logger_overwrites"):
    from homeassistant.components.logger.helpers import _clear_logger_overwrites

    logger._clear_logger_overwrites = _clear_logger_overwrites  # type: ignore[attr-defined]
