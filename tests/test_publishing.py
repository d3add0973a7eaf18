"""What hassfest and HACS's validator would reject, checked here with Home Assistant's code.

Neither can run on this machine (they fetch from the network); CI on GitHub runs both.
These checks cover what can be read locally: the manifest, hacs.json, a translation for
everything the code can show a user, icons, the brand images and the quality scale.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
import json
from pathlib import Path
import re
import struct
from typing import Any

from awesomeversion import AwesomeVersion
from homeassistant.const import __version__ as ha_version
from homeassistant.helpers import config_validation as cv
import pytest
import yaml

from custom_components.speechmatics import config_flow, health, sensor
from custom_components.speechmatics.realtime import (
    AuthenticationError,
    NotAllowed,
    SpeechmaticsError,
    UsageLimitExceeded,
)

ROOT = Path(__file__).parents[1]
INTEGRATION = ROOT / "custom_components" / "speechmatics"
CORE = Path(cv.__file__).parents[1] / "components"


def _json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


STRINGS = _json(INTEGRATION / "translations" / "en.json")
MANIFEST = _json(INTEGRATION / "manifest.json")


def _source() -> Iterator[tuple[Path, str]]:
    for path in sorted(INTEGRATION.rglob("*.py")):
        yield path, path.read_text(encoding="utf-8")


def _keyword_strings(keyword: str) -> set[str]:
    """Return every string literal passed as this keyword argument in the integration."""
    found: set[str] = set()
    for _path, text in _source():
        for node in ast.walk(ast.parse(text)):
            if (
                isinstance(node, ast.keyword)
                and node.arg == keyword
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                found.add(node.value.value)
    return found


def _fields(schema: Any) -> set[str]:
    return {str(key) for key in schema.schema}


def test_manifest_is_what_hassfest_accepts() -> None:
    """Test the manifest's keys: domain and name first, then in order; a valid version."""
    keys = list(MANIFEST)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    for required in (
        "codeowners",
        "config_flow",
        "documentation",
        "integration_type",
        "iot_class",
        "issue_tracker",
        "requirements",
        "version",
    ):
        assert required in MANIFEST, required
    assert MANIFEST["domain"] == INTEGRATION.name
    assert re.fullmatch(r"\d+\.\d+\.\d+", MANIFEST["version"])
    assert MANIFEST["iot_class"] in {"cloud_push", "local_push"}
    assert MANIFEST["integration_type"] == "service"
    assert all(owner.startswith("@") for owner in MANIFEST["codeowners"])


def test_hacs_json_is_what_hacs_accepts() -> None:
    """Test hacs.json: known keys only, and the oldest release the tests prove."""
    hacs = _json(ROOT / "hacs.json")
    allowed = {
        "name",
        "content_in_root",
        "zip_release",
        "filename",
        "hide_default_branch",
        "country",
        "homeassistant",
        "render_readme",
        "hacs",
        "persistent_directory",
    }
    assert set(hacs) <= allowed
    assert hacs["name"] == MANIFEST["name"]
    assert AwesomeVersion(hacs["homeassistant"]) <= AwesomeVersion(ha_version)


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", data[16:24])  # type: ignore[return-value]


def test_brand_images_have_the_sizes_home_assistant_serves() -> None:
    """Test the icon at 256 and 512 px square, and a logo with a 128-256 px height."""
    brand = INTEGRATION / "brand"
    assert _png_size(brand / "icon.png") == (256, 256)
    assert _png_size(brand / "icon@2x.png") == (512, 512)
    width, height = _png_size(brand / "logo.png")
    assert 128 <= height <= 256
    assert width >= height


def test_every_config_flow_form_is_translated() -> None:
    """Test each step's title and fields, for the config and the options flow."""
    steps = STRINGS["config"]["step"]
    for step in ("user", "reconfigure"):
        assert {"title", "description"} <= set(steps[step])
        assert _fields(config_flow._CONNECTION_SCHEMA) <= set(steps[step]["data"])
        assert set(steps[step]["data"]) == set(steps[step]["data_description"])
    assert _fields(config_flow._REAUTH_SCHEMA) <= set(steps["reauth_confirm"]["data"])
    options = STRINGS["options"]["step"]["init"]
    fields = _fields(config_flow._options_schema("stt.itself"))
    assert fields == set(options["data"]) == set(options["data_description"])


def test_every_error_and_abort_the_code_can_produce_is_translated() -> None:
    """Test form errors (from health.form_error too), aborts and their wording."""
    produced = {
        health.form_error(error)
        for error in (
            AuthenticationError("not_authorised", "rejected"),
            NotAllowed("not_allowed", "no"),
            UsageLimitExceeded("timelimit_exceeded", "used"),
            SpeechmaticsError("any"),
            RuntimeError("unexpected"),
        )
    }
    config_text = Path(config_flow.__file__).read_text(encoding="utf-8")
    produced |= set(re.findall(r'errors\[[A-Z_]+\] = "(\w+)"', config_text))
    produced |= set(re.findall(r'\{CONF_\w+: "(\w+)"\}', config_text))
    config_errors = set(STRINGS["config"]["error"])
    options_errors = set(STRINGS["options"]["error"])
    assert produced <= config_errors | options_errors
    assert "invalid_vocab" in options_errors
    # _async_abort_entries_match and async_update_reload_and_abort's reasons.
    assert {"already_configured", "reauth_successful", "reconfigure_successful"} <= set(
        STRINGS["config"]["abort"]
    )
    assert _keyword_strings("reason") <= set(STRINGS["config"]["abort"])


def test_every_selector_option_is_translated() -> None:
    """Test the options of each translated select selector."""
    schemas = [
        config_flow._CONNECTION_SCHEMA,
        config_flow._options_schema("stt.itself"),
    ]
    for schema in schemas:
        for selector in schema.schema.values():
            config = getattr(selector, "config", {})
            if key := config.get("translation_key"):
                assert set(config["options"]) == set(
                    STRINGS["selector"][key]["options"]
                ), key


def test_every_entity_exception_and_issue_is_translated() -> None:
    """Test entity names, exception messages and repair issues the code names."""
    entities = STRINGS["entity"]
    assert {d.translation_key for d in sensor.SENSORS} == set(entities["sensor"])
    assert set(entities["stt"]) == {"speech_to_text"}
    translation_keys = _keyword_strings("translation_key") - set(entities["sensor"])
    translation_keys -= set(entities["stt"])
    assert translation_keys <= set(STRINGS["exceptions"]) | set(STRINGS["issues"])
    assert {"invalid_auth", "cannot_connect"} <= set(STRINGS["exceptions"])
    assert {health.ISSUE_QUOTA, health.ISSUE_USAGE_LIMIT} == set(STRINGS["issues"])
    for issue in STRINGS["issues"].values():
        assert {"title", "description"} <= set(issue)


def test_every_entity_has_an_icon() -> None:
    """Test icons.json names an icon for each translated entity, and nothing else."""
    icons = _json(INTEGRATION / "icons.json")["entity"]
    for platform, entities in STRINGS["entity"].items():
        assert set(icons[platform]) == set(entities), platform
        assert all(
            icon["default"].startswith("mdi:") for icon in icons[platform].values()
        )


def _core_rules() -> set[str]:
    """Return the quality scale's rules, as Home Assistant's own integrations list them."""
    rules: set[str] = set()
    for path in CORE.glob("*/quality_scale.yaml"):
        rules |= set((yaml.safe_load(path.read_text()) or {}).get("rules") or {})
    return rules


def test_quality_scale_lists_every_rule_done_or_exempt() -> None:
    """Test quality_scale.yaml has each rule once, done or exempt with a reason."""
    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text())["rules"]
    core = _core_rules()
    assert len(core) >= 54
    assert set(rules) == core
    for name, status in rules.items():
        if status == "done":
            continue
        assert status["status"] == "exempt", name
        assert len(status["comment"]) > 20, name


@pytest.mark.parametrize("platform", ["sensor", "stt"])
def test_platforms_say_how_many_updates_run_at_once(platform: str) -> None:
    """Test each platform sets PARALLEL_UPDATES (the parallel-updates rule)."""
    text = (INTEGRATION / f"{platform}.py").read_text(encoding="utf-8")
    assert re.search(r"^PARALLEL_UPDATES = \d+$", text, re.MULTILINE)
