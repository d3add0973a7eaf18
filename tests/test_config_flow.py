"""Tests for the Speechmatics config, reauth, reconfigure and options flows."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.speechmatics.const import (
    CONF_ADDITIONAL_VOCAB,
    CONF_ENABLE_PARTIALS,
    CONF_END_OF_SPEECH,
    CONF_END_OF_UTTERANCE_SILENCE,
    CONF_ENDPOINT,
    CONF_MAX_DELAY,
    CONF_MODEL,
    CONF_VOCABULARY_FROM_HOME,
    DOMAIN,
)
from custom_components.speechmatics.realtime import REGION_URLS, RealtimeClient
from tools.speechmatics_server import RealtimeServer, Trigger, error

from .conftest import API_KEY


def custom(fake: RealtimeServer, api_key: str = API_KEY) -> dict[str, Any]:
    """Return the user form for the fake server as a custom endpoint."""
    return {CONF_API_KEY: api_key, CONF_ENDPOINT: "custom", CONF_URL: fake.url}


async def test_user_flow_creates_entry(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer
) -> None:
    """Test the user step validates with a real session and creates the entry."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], custom(fake_speechmatics)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Speechmatics (127.0.0.1)"
    assert result["data"] == {CONF_API_KEY: API_KEY, CONF_URL: fake_speechmatics.url}
    record = fake_speechmatics.sessions[0]
    assert [m["message"] for m in record.received] == [
        "StartRecognition",
        "EndOfStream",
    ]
    assert record.sent_messages[-1] == "EndOfTranscript"


@pytest.mark.parametrize("endpoint", ["eu", "us", "global"])
async def test_region_endpoints(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    monkeypatch: pytest.MonkeyPatch,
    endpoint: str,
) -> None:
    """Test choosing a region stores its full URL (the region served by the fake)."""
    monkeypatch.setitem(REGION_URLS, endpoint, fake_speechmatics.url)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: API_KEY, CONF_ENDPOINT: endpoint}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Speechmatics ({endpoint.upper()})"
    assert result["data"][CONF_URL] == fake_speechmatics.url


def refuse(status: int) -> Any:
    """Return a fault that makes the fake refuse the handshake."""
    return lambda fake: setattr(fake, "http_status", status)


def inject(error_type: str) -> Any:
    """Return a fault that makes the fake end the session with an Error."""
    return lambda fake: fake.actions.__setitem__(Trigger.START, error(error_type))


@pytest.mark.parametrize(
    ("fault", "api_key", "expected"),
    [
        (None, "wrong-key", {"base": "invalid_auth"}),
        (inject("not_authorised"), API_KEY, {"base": "invalid_auth"}),
        (inject("not_allowed"), API_KEY, {"base": "invalid_auth"}),
        (inject("timelimit_exceeded"), API_KEY, {"base": "usage_limit"}),
        (inject("quota_exceeded"), API_KEY, {"base": "cannot_connect"}),
        (refuse(500), API_KEY, {"base": "cannot_connect"}),
        (refuse(404), API_KEY, {"base": "cannot_connect"}),
    ],
)
async def test_user_flow_errors_recover(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    fault: Any,
    api_key: str,
    expected: dict[str, str],
) -> None:
    """Test each validation failure shows its error, and the corrected form succeeds."""
    if fault is not None:
        fault(fake_speechmatics)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], custom(fake_speechmatics, api_key)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == expected

    fake_speechmatics.http_status = None
    fake_speechmatics.actions.clear()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], custom(fake_speechmatics)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize("url", ["https://example.com/v2", "not a url", ""])
async def test_invalid_custom_url_recovers(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer, url: str
) -> None:
    """Test a custom endpoint that is not a ws:// or wss:// URL is refused on the field."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_API_KEY: API_KEY, CONF_ENDPOINT: "custom", CONF_URL: url},
    )
    assert result["errors"] == {CONF_URL: "invalid_url"}
    assert not fake_speechmatics.sessions
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], custom(fake_speechmatics)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_unreachable_and_unexpected_errors_recover(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer, unused_tcp_port: int
) -> None:
    """Test nothing listening is cannot_connect and an unexpected error is unknown."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_API_KEY: API_KEY,
            CONF_ENDPOINT: "custom",
            CONF_URL: f"ws://127.0.0.1:{unused_tcp_port}/v2",
        },
    )
    assert result["errors"] == {"base": "cannot_connect"}

    with patch.object(RealtimeClient, "verify", side_effect=RuntimeError("boom")):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], custom(fake_speechmatics)
        )
    assert result["errors"] == {"base": "unknown"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], custom(fake_speechmatics)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_on_premises_without_key(
    hass: HomeAssistant, fake_speechmatics: RealtimeServer
) -> None:
    """Test a custom endpoint that needs no key is set up without one."""
    fake_speechmatics.api_key = None
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ENDPOINT: "custom", CONF_URL: fake_speechmatics.url}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_API_KEY: "", CONF_URL: fake_speechmatics.url}
    assert "Authorization" not in fake_speechmatics.sessions[0].headers


async def test_same_key_and_endpoint_abort(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Test the same key and endpoint cannot be added twice."""
    mock_config_entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], custom(fake_speechmatics)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert not fake_speechmatics.sessions


async def test_reauth(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
) -> None:
    """Test a new key is validated, stored, and the entry reloaded."""
    entry = setup_integration
    fake_speechmatics.api_key = "new-key"
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"]["url"] == fake_speechmatics.url

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: "still-wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: "new-key"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_API_KEY] == "new-key"
    await hass.async_block_till_done()
    assert fake_speechmatics.sessions[-1].headers["Authorization"] == "Bearer new-key"


async def test_reconfigure(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
) -> None:
    """Test the endpoint and key can be changed, with errors and duplicates handled."""
    entry = setup_integration
    other = MockConfigEntry(
        domain=DOMAIN, data={CONF_API_KEY: "other", CONF_URL: fake_speechmatics.url}
    )
    other.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_API_KEY: API_KEY, CONF_ENDPOINT: "custom", CONF_URL: "http://x"},
    )
    assert result["errors"] == {CONF_URL: "invalid_url"}

    async with RealtimeServer(api_key="second-key") as second:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], custom(second)
        )
        assert result["errors"] == {"base": "invalid_auth"}
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], custom(second, "second-key")
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        assert entry.data == {CONF_API_KEY: "second-key", CONF_URL: second.url}
        await hass.async_block_till_done()
        assert second.sessions[-1].headers["Authorization"] == "Bearer second-key"
        assert await hass.config_entries.async_unload(entry.entry_id)

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], custom(fake_speechmatics, "other")
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reconfigure_keeps_the_same_values(
    hass: HomeAssistant,
    fake_speechmatics: RealtimeServer,
    setup_integration: MockConfigEntry,
) -> None:
    """Test submitting the entry's own key and endpoint is not a duplicate of itself."""
    result = await setup_integration.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], custom(fake_speechmatics)
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()


async def test_options_flow(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """Test the options are shown with defaults, validated, and stored structured."""
    entry = setup_integration
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "init"

    schema = result["data_schema"].schema
    suggested = {
        str(key): (key.description or {}).get("suggested_value") for key in schema
    }
    assert suggested[CONF_END_OF_SPEECH] == "speechmatics"
    assert suggested[CONF_END_OF_UTTERANCE_SILENCE] == 0.5

    options = {
        CONF_MODEL: "standard",
        CONF_MAX_DELAY: 1.5,
        CONF_ENABLE_PARTIALS: False,
        CONF_END_OF_SPEECH: "home_assistant",
        CONF_END_OF_UTTERANCE_SILENCE: 0.8,
        CONF_ADDITIONAL_VOCAB: ["one two three four five six seven"],
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], options
    )
    assert result["errors"] == {CONF_ADDITIONAL_VOCAB: "invalid_vocab"}

    options[CONF_ADDITIONAL_VOCAB] = [
        "Zigbee",
        "Home  Assistant: home assistent, home assist",
        " ",
        "Z-Wave:",
    ]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], options
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        CONF_MODEL: "standard",
        CONF_MAX_DELAY: 1.5,
        CONF_ENABLE_PARTIALS: False,
        CONF_END_OF_SPEECH: "home_assistant",
        CONF_END_OF_UTTERANCE_SILENCE: 0.8,
        CONF_VOCABULARY_FROM_HOME: True,
        CONF_ADDITIONAL_VOCAB: [
            {"content": "Zigbee"},
            {
                "content": "Home Assistant",
                "sounds_like": ["home assistent", "home assist"],
            },
            {"content": "Z-Wave"},
        ],
    }

    result = await hass.config_entries.options.async_init(entry.entry_id)
    schema = result["data_schema"].schema
    suggested = {
        str(key): (key.description or {}).get("suggested_value") for key in schema
    }
    assert suggested[CONF_ADDITIONAL_VOCAB] == [
        "Zigbee",
        "Home Assistant: home assistent, home assist",
        "Z-Wave",
    ]
    assert suggested[CONF_END_OF_SPEECH] == "home_assistant"
    assert suggested[CONF_END_OF_UTTERANCE_SILENCE] == 0.8


@pytest.mark.parametrize(
    "change",
    [
        {CONF_END_OF_SPEECH: "never"},
        {CONF_END_OF_UTTERANCE_SILENCE: 0.1},
        {CONF_END_OF_UTTERANCE_SILENCE: 2.5},
    ],
)
async def test_options_flow_refuses_bad_end_of_speech(
    hass: HomeAssistant, setup_integration: MockConfigEntry, change: dict[str, Any]
) -> None:
    """Test an unknown end-of-speech mode or a silence out of range is refused."""
    result = await hass.config_entries.options.async_init(setup_integration.entry_id)
    options = {CONF_MODEL: "enhanced", CONF_MAX_DELAY: 0.7, CONF_ENABLE_PARTIALS: True}
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"], {**options, **change}
        )
    assert setup_integration.options == {}


async def test_options_saved_before_end_of_speech_get_its_defaults(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """Test options without the end-of-speech fields (an older version) get the defaults."""
    result = await hass.config_entries.options.async_init(setup_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_MODEL: "enhanced", CONF_MAX_DELAY: 0.7, CONF_ENABLE_PARTIALS: True},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert setup_integration.options[CONF_END_OF_SPEECH] == "speechmatics"
    assert setup_integration.options[CONF_END_OF_UTTERANCE_SILENCE] == 0.5


async def test_options_flow_refuses_too_many_words(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """Test more than 1000 vocabulary entries are refused."""
    result = await hass.config_entries.options.async_init(setup_integration.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_MODEL: "enhanced",
            CONF_MAX_DELAY: 0.7,
            CONF_ENABLE_PARTIALS: True,
            CONF_ADDITIONAL_VOCAB: [f"word{i}" for i in range(1001)],
        },
    )
    assert result["errors"] == {CONF_ADDITIONAL_VOCAB: "invalid_vocab"}


async def test_reconfigure_opens_with_the_entry_region(hass: HomeAssistant) -> None:
    """Test a region's entry opens the reconfigure form on that region."""
    entry = MockConfigEntry(
        domain=DOMAIN, data={CONF_API_KEY: API_KEY, CONF_URL: REGION_URLS["us"]}
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    suggested = {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description and "suggested_value" in key.description
    }
    assert suggested[CONF_ENDPOINT] == "us"
    assert suggested[CONF_API_KEY] == API_KEY
