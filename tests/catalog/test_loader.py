"""Loading detection-rules TOML files: defaults, every field kept, and bad files reported with file, line and field."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from runner.catalog import RuleLoadError, TimingError, UuidSource, default_rule_uuid, load_rule_file, load_rules
from runner.kql import parse as kql_parse
from runner.ruletypes import runnable, unsupported
from tests.conftest import shared_path

GOOD = '''[metadata]
creation_date = "2024/02/01"
maturity = "production"
updated_date = "2024/07/09"

[rule]
author = ["Elastic"]
description = "A test rule."
from = "now-9m"
index = ["logs-endpoint.events.*"]
language = "eql"
license = "Elastic License v2"
name = "Shell from apt"
risk_score = 47
rule_id = "{rule_id}"
severity = "medium"
tags = ["OS: Linux"]
type = "eql"
query = \'\'\'
process where process.parent.name == "apt" and
  process.name in ("bash", "sh")
\'\'\'

[[rule.threat]]
framework = "MITRE ATT&CK"

[rule.threat.tactic]
id = "TA0003"
name = "Persistence"
reference = "https://attack.mitre.org/tactics/TA0003/"
'''

ID_A = "aaaaaaaa-0000-4000-8000-000000000001"
ID_B = "aaaaaaaa-0000-4000-8000-000000000002"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_rule_loads_with_kibana_defaults(tmp_path: Path) -> None:
    rule = load_rule_file(write(tmp_path, "a.toml", GOOD.format(rule_id=ID_A)))
    params = rule.params
    assert (rule.rule_id, rule.type, runnable(rule), rule.enabled) == (ID_A, "eql", True, True)
    assert (params.interval, params.from_, params.to, params.max_signals) == ("5m", "now-9m", "now", 100)
    assert params.timestamp_override is None and params.timestamp_override_fallback_disabled is False
    assert params.threat[0].tactic.id == "TA0003" and params.threat[0].technique == []
    assert rule.uuid == default_rule_uuid(ID_A) and rule.uuid != default_rule_uuid(ID_B)
    assert rule.query is not None
    parameters = params.parameters()
    assert parameters["from"] == "now-9m" and parameters["language"] == "eql" and "timestamp_override" not in parameters


def test_overrides(tmp_path: Path) -> None:
    rule = load_rule_file(write(tmp_path, "a.toml", GOOD.format(rule_id=ID_A)))
    changed = rule.with_overrides(index=["other-*"], interval="1m", from_="now-2m", enabled=False, uuid="u-1")
    assert changed.params.index == ["other-*"] and changed.params.interval == "1m"
    assert changed.params.from_ == "now-2m" and not changed.enabled and changed.uuid == "u-1"
    assert rule.params.interval == "5m"  # the original is untouched
    assert (rule.uuid_source, changed.uuid_source) == (UuidSource.DEFAULT, UuidSource.OVERRIDE)
    assert rule.with_overrides(interval="1m").uuid_source is UuidSource.DEFAULT
    assert rule.with_overrides(max_signals=250).params.max_signals == 250 and rule.params.max_signals == 100
    with pytest.raises(ValueError, match="max_signals must be an integer >= 1"):
        rule.with_overrides(max_signals=0)
    with pytest.raises(TimingError, match=r"invalid duration \[5x\]"):
        rule.with_overrides(interval="5x")


def expect_error(path: Path) -> RuleLoadError:
    with pytest.raises(RuleLoadError) as info:
        load_rule_file(path)
    return info.value


def test_malformed_toml_names_the_line(tmp_path: Path) -> None:
    text = GOOD.format(rule_id=ID_A).replace('severity = "medium"', 'severity = "medium')
    err = expect_error(write(tmp_path, "bad.toml", text))
    assert err.location.file is not None and err.location.file.endswith("bad.toml") and err.location.line == 16
    assert "invalid TOML" in str(err)


def test_invalid_field_names_file_line_and_field(tmp_path: Path) -> None:
    text = GOOD.format(rule_id=ID_A).replace("risk_score = 47", 'risk_score = "high"')
    err = expect_error(write(tmp_path, "bad.toml", text))
    assert (err.location.line, err.location.key) == (14, "rule.risk_score")
    assert str(err).startswith(f"{tmp_path / 'bad.toml'}: rule.risk_score, line 14:1: ")


def test_several_problems_are_all_listed(tmp_path: Path) -> None:
    text = GOOD.format(rule_id=ID_A).replace('severity = "medium"', 'severity = "urgent"').replace('from = "now-9m"', 'from = "yesterday"')
    err = expect_error(write(tmp_path, "bad.toml", text))
    message = str(err)
    assert "rule.from, line 9:1" in message and "invalid date math" in message
    assert "rule.severity, line 16:1" in message and "'low', 'medium', 'high' or 'critical'" in message


def test_a_bad_interval_is_a_problem_of_the_file_not_a_crash(tmp_path: Path) -> None:
    # TimingError is not a ValueError: the model's validator turns it into one, or pydantic would let it escape
    text = GOOD.format(rule_id=ID_A).replace('from = "now-9m"\n', 'from = "now-9m"\ninterval = "5x"\n')
    err = expect_error(write(tmp_path, "bad.toml", text))
    assert (err.location.line, err.location.key) == (10, "rule.interval")
    assert err.message.startswith("invalid duration [5x]: expected a whole number and a unit")


def test_unknown_and_missing_fields(tmp_path: Path) -> None:
    text = GOOD.format(rule_id=ID_A).replace('interval', 'x').replace('name = "Shell from apt"\n', 'intervl = "5m"\n')
    message = str(expect_error(write(tmp_path, "bad.toml", text)))
    assert "rule.intervl, line 13:1: unknown field" in message
    assert "rule.name" in message and "required field is missing" in message


def test_nested_field_is_located(tmp_path: Path) -> None:
    text = GOOD.format(rule_id=ID_A).replace('id = "TA0003"\n', "")
    err = expect_error(write(tmp_path, "bad.toml", text))
    assert err.location.key == "rule.threat[0].tactic.id" and err.location.line == 27  # the [rule.threat.tactic] header


def test_invalid_eql_names_the_line_in_the_file(tmp_path: Path) -> None:
    text = GOOD.format(rule_id=ID_A).replace('process.name in ("bash", "sh")', "process.name in ('bash')")
    err = expect_error(write(tmp_path, "bad.toml", text))
    # one column past the string's start, where Elasticsearch reports an error about a string literal
    assert (err.location.line, err.location.column, err.location.key) == (21, 21, "rule.query")
    assert "EQL query line 2:21:" in str(err)


def test_invalid_eql_on_one_line(tmp_path: Path) -> None:
    text = GOOD.format(rule_id=ID_A)
    start = text.index("query = '''")
    text = text[:start] + 'query = "process where x = 1"\n' + text[text.index("[[rule.threat]]"):]
    err = expect_error(write(tmp_path, "bad.toml", text))
    assert err.location.line == 19 and err.location.column == 10 + 16


def test_directory_load_keeps_going_and_rejects_duplicates(tmp_path: Path) -> None:
    write(tmp_path, "rules/a.toml", GOOD.format(rule_id=ID_A))
    write(tmp_path, "rules/sub/b.toml", GOOD.format(rule_id=ID_B))
    write(tmp_path, "rules/sub/c_dup.toml", GOOD.format(rule_id=ID_A))
    write(tmp_path, "rules/sub/d_bad.toml", "[rule\n")
    write(tmp_path, "rules/readme.md", "not a rule")
    catalog = load_rules([tmp_path / "rules"])
    assert catalog.files == 4
    assert [r.path.name for r in catalog.rules] == ["a.toml", "b.toml"]
    messages = [str(e) for e in catalog.errors]
    assert len(messages) == 2
    assert "c_dup.toml: rule.rule_id, line 15:1: duplicate rule_id" in messages[0] and "a.toml" in messages[0]
    assert "d_bad.toml" in messages[1] and "invalid TOML" in messages[1]


def test_empty_and_missing_paths_are_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    catalog = load_rules([tmp_path / "empty", tmp_path / "nope"])
    assert catalog.rules == [] and len(catalog.errors) == 2
    assert "no rule files (*.toml)" in str(catalog.errors[0]) and "no such file" in str(catalog.errors[1])


def _query_rule(tmp_path: Path, query: str, language: str = "kuery", kind: str = "query") -> Path:
    text = GOOD.format(rule_id=ID_A).replace('type = "eql"', f'type = "{kind}"').replace(
        'language = "eql"', f'language = "{language}"')
    text = text.replace('''process where process.parent.name == "apt" and
  process.name in ("bash", "sh")''', query)
    return write(tmp_path, "q.toml", text)


def test_kql_query_rules_load_parsed_and_run(tmp_path: Path) -> None:
    rule = load_rule_file(_query_rule(tmp_path, "process.name : bash"))
    assert rule.type == "query" and rule.language == "kuery" and runnable(rule)
    assert rule.query == kql_parse("process.name : bash")
    assert rule.parameters()["language"] == "kuery"


def test_other_rule_types_and_lucene_load_as_unsupported(tmp_path: Path) -> None:
    rule = load_rule_file(_query_rule(tmp_path, "process.name:bash", language="lucene"))
    assert rule.query is None and unsupported(rule) == "lucene query rules are not supported yet"
    rule = load_rule_file(_query_rule(tmp_path, "process.name : bash", kind="threshold"))
    assert rule.query is not None and unsupported(rule) == "threshold rules are not supported yet"


def test_a_bad_kql_query_is_located_in_the_file(tmp_path: Path) -> None:
    path = _query_rule(tmp_path, "process.name : bash or : sh")
    with pytest.raises(RuleLoadError) as caught:
        load_rule_file(path)
    text = path.read_text()
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "process.name : bash or : sh" in row)
    assert (caught.value.location.line, caught.value.location.column) == (line, 24)
    assert caught.value.location.key == "rule.query"
    assert str(caught.value.message).startswith("KQL query line 1:24: Expected")


def test_a_language_the_type_does_not_take_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuleLoadError, match='a query rule has language "kuery" or "lucene", not "eql"'):
        load_rule_file(_query_rule(tmp_path, "process.name : bash", language="eql"))


def test_the_seed_rule() -> None:
    rule = load_rule_file(shared_path("seed", "persistence_apt_package_manager_netcon.toml"))
    assert rule.rule_id == "eaef8a35-12e0-4ac0-bc14-81c72b6bd27c" and runnable(rule)
    assert rule.params.index_patterns == ["logs-endpoint.events.*"]


def test_the_whole_corpus_loads() -> None:
    catalog = load_rules([shared_path("detection-rules")])
    assert catalog.errors == []
    assert catalog.files == len(catalog.rules) == 2192
    counts = collections.Counter(rule.type for rule in catalog.rules)
    assert counts == {"eql": 1081, "query": 508, "new_terms": 245, "esql": 212, "machine_learning": 106,
                      "threshold": 31, "threat_match": 9}
    running = [rule for rule in catalog.rules if runnable(rule)]
    assert collections.Counter(rule.type for rule in running) == {"eql": 1081, "query": 507}
    assert all(rule.query is not None for rule in running)
    # every KQL query parses; the one Lucene query rule (deprecated) is loaded and said not to run
    kuery = [rule for rule in catalog.rules if rule.language == "kuery"]
    assert len(kuery) == 792 and all(rule.query is not None for rule in kuery)
    [lucene] = [rule for rule in catalog.rules if rule.language == "lucene"]
    assert lucene.query is None and unsupported(lucene) == "lucene query rules are not supported yet"
    live = [rule for rule in catalog.rules
            if rule.type == "query" and rule.document.metadata.maturity != "deprecated"]
    assert len(live) == 454 and all(runnable(rule) for rule in live)
    assert {unsupported(rule) for rule in catalog.rules if rule.type == "threshold"} == {
        "threshold rules are not supported yet"}
