"""`validate` beyond loading: empty windows (rule files and overrides), rule ids naming no rule, and the fields of each
enabled rule against the embedded store's indices, reported as the run would report them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runner.cli.main import main
from tests.cli.test_cli_output import BAD_ID, NO_INDEX_ID, SAMPLES, SEED, SEED_ID, variant

OTHER_ID = "00000000-0000-4000-8000-0000000000f3"


@pytest.fixture()
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / SEED.name).write_text(SEED.read_text())
    path = tmp_path / "runner.yaml"
    path.write_text("embedded: {path: store.db}\nlogging: {level: WARNING}\nrules:\n  paths: [rules]\n")
    monkeypatch.delenv("RULE_RUNNER_CONFIG", raising=False)
    return path


def validate(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["validate", "--config", str(config)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_rule_file_whose_from_is_not_before_its_to(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = variant(OTHER_ID, "Backwards").replace('from = "now-9m"', 'from = "now-1m"\nto = "now-5m"')
    (config.parent / "rules" / "backwards.toml").write_text(text)
    code, out, err = validate(config, capsys)
    assert code == 1 and "2 rule files, 1 with errors" in out
    line = text.splitlines().index('to = "now-5m"') + 1
    assert (f"backwards.toml: rule.to, line {line}:1: from [now-1m] is not earlier than to [now-5m]: every window "
            "would be empty") in err
    # rounding: empty only for some execution starts, and said so
    (config.parent / "rules" / "backwards.toml").write_text(text.replace("now-1m", "now/d").replace("now-5m", "now-1h"))
    code, _, err = validate(config, capsys)
    assert code == 1 and ("from [now/d] is not earlier than to [now-1h] for an execution starting at "
                          "2024-01-01T00:00:00.000Z (from 2024-01-01T00:00:00.000Z, to 2023-12-31T23:00:00.000Z)") in err


def test_an_override_whose_from_is_not_before_the_rules_to(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rule = config.parent / "rules" / SEED.name
    rule.write_text(SEED.read_text().replace('from = "now-9m"', 'from = "now-9m"\nto = "now-2m"'))
    config.write_text(config.read_text() + f"  overrides:\n    {SEED_ID}: {{from: now-1m}}\n")
    code, _, err = validate(config, capsys)
    assert code == 1
    assert (f"error: rules.overrides.{SEED_ID}.from: from [now-1m] is not earlier than to [now-2m]: every window "
            f"would be empty (to is set in {rule})") in err


def test_rule_ids_naming_no_loaded_rule_are_warnings(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config.write_text(config.read_text() + f"  include: {{rule_ids: [{SEED_ID}, no-such-rule]}}\n"
                      "  exclude: {rule_ids: [not-loaded-either]}\n  overrides: {gone-rule: {enabled: false}}\n")
    code, _, err = validate(config, capsys)
    assert code == 0
    assert "warning: rules.include.rule_ids names rule_id no-such-rule, which no loaded rule has" in err
    assert "warning: rules.exclude.rule_ids names rule_id not-loaded-either, which no loaded rule has" in err
    assert "warning: rules.overrides names rule_id gone-rule, which no loaded rule has" in err
    assert SEED_ID not in err


def test_fields_against_the_embedded_store(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = config.parent / "rules"
    (rules / "bad_column.toml").write_text(variant(BAD_ID, "Bad column", query="process where flow.final == true"))
    (rules / "no_index.toml").write_text(variant(NO_INDEX_ID, "No index", index="nothing-here-*"))
    # nothing ingested: the rules are checked against the index templates, as a cluster with them installed would
    code, out, err = validate(config, capsys)
    assert code == 1 and "fields: 3 enabled rule(s) checked against the index templates (no embedded store at" in out
    assert "2 ok, 1 with errors, 0 whose index patterns match no index there" in out
    # not a typo: a field of integrations the rule does not search (Elastic Defend's templates do not map it)
    assert ("note: [flow.final] is a field of Network Packet Capture (logs-network_traffic.amqp-*, "
            "logs-network_traffic.cassandra-*, logs-network_traffic.dhcpv4-* and 13 more); Packetbeat "
            "(packetbeat-*), which the rule's index patterns do not reach") in err
    assert not (config.parent / "store.db").exists()
    assert main(["ingest", "--config", str(config), str(SAMPLES)]) == 0
    code, out, err = validate(config, capsys)
    assert code == 1
    assert ("fields: 3 enabled rule(s) checked against the embedded store "
            f"{config.parent / 'store.db'}: 1 ok, 1 with errors, 1 whose index patterns match no index there") in out
    assert "  no index matches ['nothing-here-*']: 1 rule(s)" in out
    # the run's own message for that rule
    assert main(["run", "--once", "--now", "2026-01-15T10:05:00Z", "--format", "ndjson", "--config", str(config)]) == 1
    run_message = next(line for line in capsys.readouterr().out.splitlines() if BAD_ID in line)
    expected = "Found 1 problem\nline 1:15: Unknown column [flow.final], did you mean [url.original]?"
    assert expected.replace("\n", "\\n") in run_message
    assert re.search(rf"error: .*bad_column\.toml: rule\.query of rule {BAD_ID} \(Bad column\) on "
                     r"\['logs-endpoint\.events\.\*'\]: verification_exception: Found 1 problem\n  line 1:15: "
                     r"Unknown column \[flow\.final\], did you mean \[url\.original\]\?", err)
    # an override's index is the one checked
    config.write_text(config.read_text() + f"  overrides:\n    {BAD_ID}: {{index: [elsewhere-*]}}\n")
    code, out, _ = validate(config, capsys)
    assert code == 0 and "1 ok, 0 with errors, 2 whose index patterns match no index there" in out


def test_disabled_rules_are_not_checked(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = config.parent / "rules"
    (rules / "bad_column.toml").write_text(variant(BAD_ID, "Bad column", query="process where flow.final == true"))
    assert main(["ingest", "--config", str(config), str(SAMPLES)]) == 0
    config.write_text(config.read_text() + f"  overrides:\n    {BAD_ID}: {{enabled: false}}\n")
    code, out, _ = validate(config, capsys)
    assert code == 0 and "fields: 1 enabled rule(s) checked" in out
