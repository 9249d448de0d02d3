"""The city units' transfer numbers: one parser for the dialplan's allowlist and the
console's list, rendered into [agents] as exact extensions and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import asterisk_values
from api.core.city_units import transfer_targets
from asterisk_conf.render import RenderError, render_text

CONF_DIR = Path(__file__).resolve().parents[2] / "asterisk_conf"
BLOCK = ";{{#TRANSFER_NUMBERS}}\n{{TRANSFER_UNIT}}:{{TRANSFER_NUMBER}}\n;{{/TRANSFER_NUMBERS}}\n"


def test_units_and_numbers_are_parsed_in_order() -> None:
    assert asterisk_values.transfer_numbers(" pdam=0721000102, dinas-pu=+62721000101,") == {
        "pdam": "0721000102",
        "dinas-pu": "+62721000101",
    }
    assert asterisk_values.transfer_numbers("") == {}


@pytest.mark.parametrize(
    "value",
    [
        "pdam",  # no number
        "pdam=0721,ext",  # an entry without "="
        "pdam=12",  # too short to be a number
        "pdam=0721000102;x",
        "pdam=0721${SHELL}",
        "pdam=0721000102\n[evil]",
        "PDAM=0721000102",  # not a unit id
        "pdam=0721000102,pdam=0721000103",  # a unit twice
        "pdam=0721000102,dlh=0721000102",  # a number twice
    ],
)
def test_anything_else_is_refused(value: str) -> None:
    with pytest.raises(asterisk_values.UnsafeValue):
        asterisk_values.transfer_numbers(value)


def test_the_block_repeats_per_number_and_a_bad_value_stops_the_render() -> None:
    out = render_text(BLOCK, {"TRANSFER_NUMBERS": "pdam=0721000102,dlh=0721000103"}, [])
    assert out == "pdam:0721000102\ndlh:0721000103\n"
    assert render_text(BLOCK, {}, []) == ""
    with pytest.raises(RenderError, match="LAPOR_TRANSFER_NUMBERS"):
        render_text(BLOCK, {"TRANSFER_NUMBERS": "pdam=0721,000102"}, [])


def test_agents_context_dials_only_the_listed_numbers() -> None:
    template = (CONF_DIR / "extensions.conf").read_text(encoding="utf-8")
    values = {name: "x" * 16 for name in re.findall(r"\{\{([A-Z0-9_]+)\}\}", template)}
    values |= {"LINE_1": "082282204761", "TRANSFER_NUMBERS": "pdam=0721000102"}
    rendered = render_text(template, values, [])
    agents = rendered.split("[agents]\n", 1)[1].split("\n[", 1)[0]
    extensions = re.findall(r"^exten => ([^,]+),", agents, re.M)
    assert extensions == ["0721000102"]
    assert "Dial(PJSIP/0721000102@trunk,60)" in agents


def test_the_console_lists_catalog_units_only() -> None:
    [target] = transfer_targets("pdam=0721000102")
    assert (target.unit, target.number) == ("pdam", "0721000102")
    assert target.name.startswith("Perumda Air Minum")
    with pytest.raises(ValueError, match="unknown units"):
        transfer_targets("kantor-pos=0721000102")
