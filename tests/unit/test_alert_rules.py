"""The Prometheus alert rules (monitoring/prometheus/alerts.yml) are valid, tested and
documented.

``promtool`` comes from Debian's ``prometheus`` package, which ``make`` installs (the
Makefile's APT_PACKAGES, its server kept from running): these tests require it and fail
without it, so a missing tool never passes for checked rules.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "monitoring" / "prometheus" / "alerts.yml"
RULE_TESTS = REPO / "monitoring" / "prometheus" / "alerts_test.yml"
CONFIG = REPO / "monitoring" / "prometheus" / "prometheus.yml"
OPERATIONS = REPO / "docs" / "operations.md"
SEVERITIES = {"critical", "warning"}


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(
            "promtool is missing: install Debian's prometheus package (`make setup` does, "
            "without starting its server)"
        )
    return found


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], capture_output=True, text=True, timeout=120, cwd=cwd, check=False
    )


def alerting_rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    rules = [rule for group in data["groups"] for rule in group["rules"] if "alert" in rule]
    assert rules, "alerts.yml has no alerting rule"
    return rules


def heading_anchors(markdown: str) -> set[str]:
    """GitHub's anchors of a Markdown file's headings (lower case, punctuation dropped,
    spaces to hyphens)."""
    anchors = set()
    for line in markdown.splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*$", line)
        if heading:
            text = re.sub(r"[^\w\- ]", "", heading.group(1).lower())
            anchors.add(text.replace(" ", "-"))
    return anchors


def test_promtool_checks_the_rules() -> None:
    result = run("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_broken_rule(tmp_path: Path) -> None:
    """The check above can fail: a rule with a PromQL error is refused."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: sum(rate(x[5m])\n",
        encoding="utf-8",
    )
    result = run("check", "rules", str(broken))
    assert result.returncode != 0


def test_promtool_unit_tests_of_the_rules_pass() -> None:
    """alerts_test.yml feeds series and expects each alert to fire, or not, at given times."""
    result = run("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_unit_tests_fail_when_a_threshold_moves(tmp_path: Path) -> None:
    """The unit tests pin the thresholds: the no-officer page after 5 minutes, not 10, fails."""
    moved = RULES.read_text(encoding="utf-8").replace("for: 10m", "for: 5m", 1)
    assert moved != RULES.read_text(encoding="utf-8")
    (tmp_path / RULES.name).write_text(moved, encoding="utf-8")
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    result = run("test", "rules", RULE_TESTS.name, cwd=tmp_path)
    assert result.returncode != 0
    assert "LaporNoOfficerSignedIn" in result.stdout + result.stderr


def test_every_alert_is_tested_firing_and_quiet() -> None:
    data = yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in data["tests"]:
        for check in case.get("alert_rule_test", []):
            (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {rule["alert"] for rule in alerting_rules()}
    assert names - firing == set(), f"never tested firing: {sorted(names - firing)}"
    assert names - quiet == set(), f"never tested staying quiet: {sorted(names - quiet)}"


def test_every_alert_waits_has_a_severity_and_a_runbook_in_operations_md() -> None:
    anchors = heading_anchors(OPERATIONS.read_text(encoding="utf-8"))
    for rule in alerting_rules():
        name = rule["alert"]
        assert re.fullmatch(r"\d+[smh]", str(rule.get("for", ""))), f"{name}: needs for:"
        assert rule["labels"]["severity"] in SEVERITIES, name
        annotations = rule["annotations"]
        assert annotations["summary"].strip(), name
        assert annotations["description"].strip(), name
        page, _, anchor = annotations["runbook"].partition("#")
        assert page == "docs/operations.md", name
        assert anchor == name.lower(), f"{name}: runbook anchor {anchor!r}"
        assert anchor in anchors, f"docs/operations.md has no section {name} (#{anchor})"


def test_promtool_checks_the_scrape_config(tmp_path: Path) -> None:
    """prometheus.yml as the monitoring profile mounts it, the API token file aside (it
    exists only in the tokens volume)."""
    config = CONFIG.read_text(encoding="utf-8")
    token = "/run/lapor/tokens/monitoring.token"
    assert token in config
    (tmp_path / "monitoring.token").write_text("token\n", encoding="utf-8")
    copy = tmp_path / CONFIG.name
    copy.write_text(config.replace(token, str(tmp_path / "monitoring.token")), encoding="utf-8")
    shutil.copy(RULES, tmp_path / RULES.name)
    result = run("check", "config", str(copy))
    assert result.returncode == 0, result.stdout + result.stderr
