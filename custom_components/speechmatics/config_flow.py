"""Config flow for the Speechmatics integration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, override

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_API_KEY, CONF_URL
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio
from yarl import URL

from . import async_create_client
from .const import (
    CONF_ADDITIONAL_VOCAB,
    CONF_ENABLE_PARTIALS,
    CONF_END_OF_SPEECH,
    CONF_END_OF_UTTERANCE_SILENCE,
    CONF_ENDPOINT,
    CONF_FALLBACK_STT,
    CONF_MAX_DELAY,
    CONF_MODEL,
    CONF_VOCABULARY_FROM_HOME,
    DEFAULT_END_OF_SPEECH,
    DEFAULT_END_OF_UTTERANCE_SILENCE,
    DEFAULT_VOCABULARY_FROM_HOME,
    DOMAIN,
    END_OF_SPEECH_MODES,
    END_OF_UTTERANCE_SILENCE_RANGE,
    ENDPOINT_CUSTOM,
    MODELS,
)
from .health import form_error
from .options import check_options, vocab_to_options
from .realtime import REGION_URLS, parse_vocab, validate_url

_ENDPOINT_SELECTOR = SelectSelector(
    SelectSelectorConfig(
        options=[*REGION_URLS, ENDPOINT_CUSTOM],
        translation_key=CONF_ENDPOINT,
        mode=SelectSelectorMode.DROPDOWN,
    )
)
_CONNECTION_SCHEMA = probatio.Schema(
    {
        probatio.Optional(CONF_API_KEY): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        ),
        probatio.Required(CONF_ENDPOINT, default="eu"): _ENDPOINT_SELECTOR,
        probatio.Optional(CONF_URL): TextSelector(
            TextSelectorConfig(type=TextSelectorType.URL)
        ),
    }
)
_REAUTH_SCHEMA = probatio.Schema(
    {
        probatio.Optional(CONF_API_KEY): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        ),
    }
)


def _options_schema(own_entity: str | None) -> probatio.Schema:
    """Return the options form; the fallback may be any other speech-to-text entity."""
    return probatio.Schema(
        {
            probatio.Required(CONF_MODEL): SelectSelector(
                SelectSelectorConfig(options=list(MODELS), translation_key=CONF_MODEL)
            ),
            probatio.Required(CONF_MAX_DELAY): NumberSelector(
                NumberSelectorConfig(
                    min=0.7,
                    max=4,
                    step=0.1,
                    unit_of_measurement="s",
                    mode=NumberSelectorMode.SLIDER,
                )
            ),
            probatio.Required(CONF_ENABLE_PARTIALS): BooleanSelector(),
            # Defaults: a form posted without these (by a script) still validates.
            probatio.Required(
                CONF_END_OF_SPEECH, default=DEFAULT_END_OF_SPEECH
            ): SelectSelector(
                SelectSelectorConfig(
                    options=list(END_OF_SPEECH_MODES),
                    translation_key=CONF_END_OF_SPEECH,
                )
            ),
            probatio.Required(
                CONF_END_OF_UTTERANCE_SILENCE, default=DEFAULT_END_OF_UTTERANCE_SILENCE
            ): NumberSelector(
                NumberSelectorConfig(
                    min=END_OF_UTTERANCE_SILENCE_RANGE[0],
                    max=END_OF_UTTERANCE_SILENCE_RANGE[1],
                    step=0.1,
                    unit_of_measurement="s",
                    mode=NumberSelectorMode.SLIDER,
                )
            ),
            probatio.Required(
                CONF_VOCABULARY_FROM_HOME, default=DEFAULT_VOCABULARY_FROM_HOME
            ): BooleanSelector(),
            probatio.Optional(CONF_ADDITIONAL_VOCAB): TextSelector(
                TextSelectorConfig(multiple=True)
            ),
            probatio.Optional(CONF_FALLBACK_STT): EntitySelector(
                EntitySelectorConfig(
                    domain="stt",
                    exclude_entities=[own_entity] if own_entity else [],
                )
            ),
        }
    )


def endpoint_url(user_input: Mapping[str, Any]) -> str:
    """Return the WebSocket URL the form names; raise ValueError for a bad custom URL."""
    endpoint = user_input.get(CONF_ENDPOINT, ENDPOINT_CUSTOM)
    if endpoint in REGION_URLS:
        return REGION_URLS[endpoint]
    return str(validate_url(str(user_input.get(CONF_URL, "")).strip()))


def endpoint_of(url: str) -> dict[str, str]:
    """Return the form values that stand for a URL."""
    for endpoint, region_url in REGION_URLS.items():
        if url == region_url:
            return {CONF_ENDPOINT: endpoint}
    return {CONF_ENDPOINT: ENDPOINT_CUSTOM, CONF_URL: url}


def title_for(url: str) -> str:
    """Return the entry title for an endpoint."""
    for endpoint, region_url in REGION_URLS.items():
        if url == region_url:
            return f"Speechmatics ({endpoint.upper()})"
    return f"Speechmatics ({URL(url).host})"


async def _async_errors(hass: HomeAssistant, data: Mapping[str, Any]) -> dict[str, str]:
    """Open a Realtime session with the key and URL; return the form errors."""
    try:
        client = await async_create_client(hass, data)
        await client.verify()
    except Exception as err:  # noqa: BLE001  # every failure is a form error
        return {"base": form_error(err)}
    return {}


class SpeechmaticsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Handle a config flow for Speechmatics."""

    VERSION = 1

    @staticmethod
    @override
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> SpeechmaticsOptionsFlow:
        """Return the options flow."""
        return SpeechmaticsOptionsFlow()

    async def _async_validate_input(
        self, user_input: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, dict[str, str]]:
        """Return the entry data the form describes once proven, or the form errors."""
        try:
            url = endpoint_url(user_input)
        except ValueError:
            return None, {CONF_URL: "invalid_url"}
        data = {CONF_API_KEY: user_input.get(CONF_API_KEY, ""), CONF_URL: url}
        self._async_abort_entries_match(data)
        if errors := await _async_errors(self.hass, data):
            return None, errors
        return data, {}

    def _show_connection_form(
        self,
        step_id: str,
        suggested: Mapping[str, Any] | None,
        errors: dict[str, str],
    ) -> ConfigFlowResult:
        """Show the API key and endpoint form."""
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                _CONNECTION_SCHEMA, suggested
            ),
            errors=errors,
        )

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the API key and the endpoint, and prove they work."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = await self._async_validate_input(user_input)
            if data is not None:
                return self.async_create_entry(
                    title=title_for(data[CONF_URL]), data=data
                )
        return self._show_connection_form("user", user_input, errors)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the endpoint or the key."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = await self._async_validate_input(user_input)
            if data is not None:
                return self.async_update_reload_and_abort(
                    entry, title=title_for(data[CONF_URL]), data_updates=data
                )
        suggested = user_input or {**entry.data, **endpoint_of(entry.data[CONF_URL])}
        return self._show_connection_form("reconfigure", suggested, errors)

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Start reauthentication after the service rejected the key."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new API key."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, CONF_API_KEY: user_input.get(CONF_API_KEY, "")}
            if not (errors := await _async_errors(self.hass, data)):
                return self.async_update_reload_and_abort(entry, data_updates=data)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=_REAUTH_SCHEMA,
            description_placeholders={"url": entry.data[CONF_URL]},
            errors=errors,
        )


class SpeechmaticsOptionsFlow(OptionsFlow):
    """Options that apply to the next session, without a restart."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose the model, latency, partial results, end of speech and vocabulary.

        The form opens with the stored options as the schema checked them, so it
        opens whatever is stored; what it saves passes the same check.
        """
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                vocab = parse_vocab(user_input.get(CONF_ADDITIONAL_VOCAB, []))
            except ValueError:
                errors[CONF_ADDITIONAL_VOCAB] = "invalid_vocab"
            else:
                # The form's selectors let through only what the check passes.
                options, _ = check_options(
                    {**user_input, CONF_ADDITIONAL_VOCAB: vocab_to_options(vocab)}
                )
                return self.async_create_entry(data=options.as_options())
        options, _ = check_options(self.config_entry.options)
        suggested = user_input or {
            **options.as_options(),
            CONF_ADDITIONAL_VOCAB: [entry.line for entry in options.additional_vocab],
        }
        own_entity = er.async_get(self.hass).async_get_entity_id(
            "stt", DOMAIN, self.config_entry.entry_id
        )
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                _options_schema(own_entity), suggested
            ),
            errors=errors,
        )
