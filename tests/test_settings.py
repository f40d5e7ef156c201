"""The YAML configuration: finding the file, interpolation, validation in our own words, and secrets kept secret."""

from __future__ import annotations

import json
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from runner.settings import (
    AlertsSettings,
    ElasticsearchSettings,
    RuleOverride,
    Settings,
    SettingsError,
    load_settings,
)

REPO = Path(__file__).resolve().parents[1]
SECRET = "hunter2-do-not-print"


def write(directory: Path, text: str, name: str = "runner.yaml") -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems(path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(path, env=env or {})
    return [str(problem) for problem in caught.value.problems]


def assert_not_leaked(text: str) -> None:
    assert SECRET not in text
    assert "hunter2" not in text


# -- finding the file --------------------------------------------------------------------------------------------------


def test_defaults_without_a_file(tmp_path: Path) -> None:
    settings = load_settings(env={}, cwd=tmp_path)
    assert settings.source is None
    assert settings.backend == "embedded"
    assert settings.elasticsearch is None
    assert settings.embedded.path == tmp_path / ".rule-runner" / "store.db"
    assert settings.rules.paths == [tmp_path / "rules"]
    assert settings.rules.overrides == {}
    assert settings.alerts.index is None
    assert settings.alerts.index_name == ".alerts-security.alerts-default"
    assert settings.scheduler.max_concurrent_executions == 4
    assert settings.scheduler.first_run_jitter == timedelta(seconds=10)
    assert settings.scheduler.misfire_grace_time == timedelta(seconds=60)
    assert (settings.logging.format, settings.logging.level) == ("text", "INFO")


def test_config_runner_yaml_under_cwd_is_found(tmp_path: Path) -> None:
    write(tmp_path / "config", "backend: embedded\nlogging: {level: debug}\n")
    settings = load_settings(env={}, cwd=tmp_path)
    assert settings.source == tmp_path / "config" / "runner.yaml"
    assert settings.logging.level == "DEBUG"


def test_rule_runner_config_env_wins_over_the_default_location(tmp_path: Path) -> None:
    write(tmp_path / "config", "logging: {level: debug}\n")
    other = write(tmp_path / "elsewhere", "logging: {level: error}\n", "mine.yaml")
    settings = load_settings(env={"RULE_RUNNER_CONFIG": str(other)}, cwd=tmp_path)
    assert settings.source == other
    assert settings.logging.level == "ERROR"
    # a relative RULE_RUNNER_CONFIG is taken from cwd
    relative = load_settings(env={"RULE_RUNNER_CONFIG": "elsewhere/mine.yaml"}, cwd=tmp_path)
    assert relative.source == other


def test_explicit_path_wins_over_the_environment(tmp_path: Path) -> None:
    mine = write(tmp_path, "logging: {level: warning}\n", "explicit.yaml")
    other = write(tmp_path, "logging: {level: error}\n", "other.yaml")
    settings = load_settings(mine, env={"RULE_RUNNER_CONFIG": str(other)}, cwd=tmp_path)
    assert settings.source == mine
    assert settings.logging.level == "WARNING"


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path / "nope.yaml", env={})
    assert str(caught.value) == f"config file not found: {tmp_path / 'nope.yaml'}"


def test_missing_file_named_by_the_environment(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"config file not found: .*nope.yaml \(from RULE_RUNNER_CONFIG\)"):
        load_settings(env={"RULE_RUNNER_CONFIG": "nope.yaml"}, cwd=tmp_path)


def test_empty_file_means_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "# only a comment\n"), env={})
    assert settings.backend == "embedded"
    assert settings.embedded.path == tmp_path / ".rule-runner" / "store.db"


def test_empty_sections_and_values_mean_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, """
        embedded:
        scheduler:
          max_concurrent_executions:
        alerts:
          index: ${ALERTS_INDEX:-}
        rules:
          overrides:
            some-rule:
    """)
    settings = load_settings(path, env={})
    assert settings.scheduler.max_concurrent_executions == 4
    assert settings.alerts.index is None
    assert settings.rules.overrides["some-rule"] == RuleOverride()


# -- the shipped files -------------------------------------------------------------------------------------------------


def test_shipped_embedded_config_loads() -> None:
    settings = load_settings(REPO / "config" / "runner.yaml", env={})
    assert settings.backend == "embedded"
    assert settings.embedded.path == REPO / ".rule-runner" / "store.db"
    assert settings.rules.paths == [REPO / "rules"]
    assert settings.alerts.index_name == ".alerts-security.alerts-default"


@pytest.fixture()
def ca_file(tmp_path: Path) -> str:
    """A CA bundle for the shipped cluster config (its default, docker/certs/ca/ca.crt, exists once the stack ran)."""
    path = tmp_path / "ca.crt"
    path.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    return str(path)


def test_shipped_elasticsearch_config_loads(ca_file: str) -> None:
    settings = load_settings(REPO / "config" / "runner.elasticsearch.yaml",
                             env={"ES_PASSWORD": SECRET, "ES_CA_CERTS": ca_file})
    assert settings.backend == "elasticsearch"
    es = settings.elasticsearch
    assert es is not None
    assert es.hosts == ["https://localhost:9200"]
    assert es.username == "elastic"
    assert es.password is not None and es.password.get_secret_value() == SECRET
    assert es.ca_certs == Path(ca_file)
    assert es.verify_certs is True
    assert es.request_timeout == timedelta(seconds=30)
    assert es.max_retries == 3
    assert_not_leaked(json.dumps(settings.redacted()))


def test_shipped_elasticsearch_config_takes_hosts_from_the_environment(ca_file: str) -> None:
    env = {"ES_PASSWORD": SECRET, "ES_HOSTS": "https://a:9200, https://b:9200", "ES_USERNAME": "runner",
           "ES_CA_CERTS": ca_file}
    settings = load_settings(REPO / "config" / "runner.elasticsearch.yaml", env=env)
    assert settings.elasticsearch is not None
    assert settings.elasticsearch.hosts == ["https://a:9200", "https://b:9200"]
    assert settings.elasticsearch.username == "runner"


def test_shipped_configs_take_kibana_from_the_environment(ca_file: str) -> None:
    assert load_settings(REPO / "config" / "runner.yaml", env={}).kibana.links_base_url is None
    config = REPO / "config" / "runner.elasticsearch.yaml"
    kibana = load_settings(config, env={"ES_PASSWORD": SECRET, "ES_CA_CERTS": ca_file}).kibana
    assert (kibana.url, kibana.public_base_url, kibana.api_key, kibana.username) == (None, None, None, None)
    env = {"ES_PASSWORD": SECRET, "ES_CA_CERTS": ca_file, "KIBANA_URL": "http://kibana:5601",
           "KIBANA_PUBLIC_BASE_URL": "http://localhost:5601", "KIBANA_USERNAME": "elastic",
           "KIBANA_USER_PASSWORD": SECRET}
    settings = load_settings(config, env=env)
    kibana = settings.kibana
    assert (kibana.url, kibana.links_base_url) == ("http://kibana:5601", "http://localhost:5601")
    assert kibana.username == "elastic" and kibana.password is not None and kibana.verify_certs
    assert_not_leaked(json.dumps(settings.redacted()))


def test_shipped_elasticsearch_config_needs_the_password(ca_file: str) -> None:
    assert problems(REPO / "config" / "runner.elasticsearch.yaml", env={"ES_CA_CERTS": ca_file}) == [
        f"{REPO / 'config' / 'runner.elasticsearch.yaml'}: elasticsearch.password, line 15:13: "
        "environment variable ES_PASSWORD is not set"
    ]


def test_a_missing_ca_certs_file_is_a_configuration_error(tmp_path: Path) -> None:
    path = write(tmp_path, """
        backend: elasticsearch
        elasticsearch:
          hosts: https://localhost:9200
          api_key: abc
          ca_certs: certs/ca.crt
    """)
    assert problems(path) == [f"{path}: elasticsearch.ca_certs, line 5:13: no such file: {tmp_path / 'certs' / 'ca.crt'}"]
    (tmp_path / "certs" / "ca.crt").mkdir(parents=True)  # a directory is no CA bundle either
    assert problems(path) == [f"{path}: elasticsearch.ca_certs, line 5:13: no such file: {tmp_path / 'certs' / 'ca.crt'}"]
    (tmp_path / "certs" / "ca.crt").rmdir()
    (tmp_path / "certs" / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    es = load_settings(path, env={}).elasticsearch
    assert es is not None and es.ca_certs == tmp_path / "certs" / "ca.crt"


# -- interpolation -----------------------------------------------------------------------------------------------------


def test_interpolation_with_defaults_and_dollar_escape(tmp_path: Path) -> None:
    path = write(tmp_path, """
        backend: ${BACKEND}
        elasticsearch:
          hosts: ["${ES_HOST:-https://localhost:9200}", "https://${OTHER_HOST}:9200"]
          username: ${ES_USER:-elastic}
          password: "pa$$word${SUFFIX:-!}"
        alerts:
          space_id: ${SPACE:-default}
        scheduler:
          max_concurrent_executions: ${WORKERS:-2}
          misfire_grace_time: ${TIMEOUT}
    """)
    env = {"BACKEND": "elasticsearch", "OTHER_HOST": "node2", "ES_USER": "", "SPACE": "soc", "TIMEOUT": "90s"}
    settings = load_settings(path, env=env)
    es = settings.elasticsearch
    assert es is not None
    assert es.hosts == ["https://localhost:9200", "https://node2:9200"]
    assert es.username == "elastic"  # `:-` takes the default when the variable is empty too
    assert es.password is not None and es.password.get_secret_value() == "pa$word!"
    assert settings.alerts.index_name == ".alerts-security.alerts-soc"
    assert settings.scheduler.max_concurrent_executions == 2
    assert settings.scheduler.misfire_grace_time == timedelta(seconds=90)


def test_interpolation_applies_to_values_not_keys(tmp_path: Path) -> None:
    path = write(tmp_path, """
        rules:
          overrides:
            ${RULE}:
              enabled: false
    """)
    settings = load_settings(path, env={"RULE": "abc"})
    assert list(settings.rules.overrides) == ["${RULE}"]


def test_lone_dollar_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path, """
        elasticsearch:
          hosts: https://localhost:9200
          username: elastic
          password: a$b
    """)
    es = load_settings(path, env={}).elasticsearch
    assert es is not None and es.password is not None
    assert es.password.get_secret_value() == "a$b"


def test_missing_variable_names_yaml_path_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, """
        backend: elasticsearch
        elasticsearch:
          hosts: ["https://localhost:9200"]
          username: elastic
          password: ${ES_PASSWORD}
        scheduler:
          misfire_grace_time: ${TIMEOUT}
    """)
    assert problems(path) == [
        f"{path}: elasticsearch.password, line 5:13: environment variable ES_PASSWORD is not set",
        f"{path}: scheduler.misfire_grace_time, line 7:23: environment variable TIMEOUT is not set",
    ]


def test_malformed_reference(tmp_path: Path) -> None:
    path = write(tmp_path, "alerts:\n  space_id: ${not valid}\n")
    [message] = problems(path)
    assert message.startswith(f"{path}: alerts.space_id, line 2:13: cannot read ${{not valid}}")
    assert "$$ for a literal $" in message


# -- errors: unknown keys, types, YAML ----------------------------------------------------------------------------------


def test_unknown_top_level_key_suggests_the_closest(tmp_path: Path) -> None:
    path = write(tmp_path, "backnd: embedded\n")
    assert problems(path) == [f'{path}: backnd, line 1:1: unknown key "backnd"; did you mean "backend"?']


def test_unknown_nested_key_suggests_the_closest(tmp_path: Path) -> None:
    path = write(tmp_path, """
        rules:
          overrides:
            eaef8a35-12e0-4ac0-bc14-81c72b6bd27c:
              intervl: 5m
        scheduler:
          colour: blue
    """)
    assert problems(path) == [
        f"{path}: rules.overrides.eaef8a35-12e0-4ac0-bc14-81c72b6bd27c.intervl, line 4:7: "
        'unknown key "intervl"; did you mean "interval"?',
        f'{path}: scheduler.colour, line 6:3: unknown key "colour" (allowed: max_concurrent_executions, '
        "first_run_jitter, misfire_grace_time, execution_timeout, max_window_splits)",
    ]


def test_every_wrong_value_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, """
        backend: elastic
        embedded:
          path: [a, b]
        rules:
          paths: 5
          include: {tags: [1]}
        alerts:
          space_id: Not A Space
        scheduler:
          max_concurrent_executions: zero
          misfire_grace_time: 0s
          first_run_jitter: soon
        logging:
          format: xml
          level: WARN
    """)
    assert problems(path) == [
        f'{path}: backend, line 1:10: must be one of embedded, elasticsearch (got "elastic"); did you mean '
        '"elasticsearch"?',
        f"{path}: embedded.path, line 3:9: must be a file path (got a list)",
        f"{path}: rules.paths, line 5:10: must be a list (got 5)",
        f"{path}: rules.include.tags[0], line 6:20: must be text (quote it to keep it as text) (got 1)",
        f'{path}: alerts.space_id, line 8:13: must be a Kibana space id: lowercase letters, digits, _ and - '
        '(got "Not A Space")',
        f'{path}: scheduler.max_concurrent_executions, line 10:30: must be an integer >= 1 (got "zero")',
        f'{path}: scheduler.misfire_grace_time, line 11:23: must be greater than zero (got "0s")',
        f"{path}: scheduler.first_run_jitter, line 12:21: must be a duration: a whole number and a unit among "
        'ms, s, m, h, d (e.g. 30s, 5m), or 0 (got "soon")',
        f'{path}: logging.format, line 14:11: must be one of text, json (got "xml")',
        f'{path}: logging.level, line 15:10: must be one of DEBUG, INFO, WARNING, ERROR (got "WARN"); '
        'did you mean "WARNING"?',
    ]


def test_error_message_lists_every_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "scheduler:\n  max_concurrent_executions: 0\n  misfire_grace_time: 0s\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(path, env={})
    text = str(caught.value)
    assert text.startswith("2 problems in the configuration:\n")
    assert f"  {path}: scheduler.max_concurrent_executions, line 2:30: must be an integer >= 1 (got 0)" in text
    [first, second] = caught.value.problems
    assert first.location is not None and first.location.key == "scheduler.max_concurrent_executions"
    assert (first.location.line, first.location.column, first.location.file) == (2, 30, str(path))
    assert second.location is not None and second.location.line == 3


def test_overrides_are_validated(tmp_path: Path) -> None:
    path = write(tmp_path, """
        rules:
          overrides:
            abc:
              interval: 5x
              from: now-9x
              index: []
    """)
    assert problems(path) == [
        f"{path}: rules.overrides.abc.interval, line 4:17: must be a duration: a whole number and a unit among "
        'ms, s, m, h, d (e.g. 30s, 5m) (got "5x")',
        f"{path}: rules.overrides.abc.from, line 5:13: invalid date math [now-9x]: cannot read [-9x]; expected "
        "+N<unit>, -N<unit> or /<unit> with a unit among y, M, w, d, h, H, m, s, ms",
        f"{path}: rules.overrides.abc.index, line 6:14: must not be empty",
    ]


def test_overrides_load(tmp_path: Path) -> None:
    path = write(tmp_path, """
        rules:
          overrides:
            eaef8a35-12e0-4ac0-bc14-81c72b6bd27c:
              index: logs-endpoint.events.*
              interval: 5m
              from: now-9m
              enabled: false
              uuid: 0b7d6f1a-0000-4000-8000-000000000000
    """)
    override = load_settings(path, env={}).rules.overrides["eaef8a35-12e0-4ac0-bc14-81c72b6bd27c"]
    assert override.index == ["logs-endpoint.events.*"]
    assert (override.interval, override.from_, override.enabled) == ("5m", "now-9m", False)
    assert override.uuid == "0b7d6f1a-0000-4000-8000-000000000000"
    # the field names are `Rule.with_overrides()`'s keyword arguments
    assert override.model_dump(exclude_none=True) == {
        "index": ["logs-endpoint.events.*"], "interval": "5m", "from_": "now-9m", "enabled": False,
        "uuid": "0b7d6f1a-0000-4000-8000-000000000000",
    }


def test_override_max_signals_is_validated_as_kibana_does(tmp_path: Path) -> None:
    # Kibana's rule schema: an integer >= 1 and nothing more; above Kibana's alerting limit (1000 by default) the
    # value is kept, and rule-runner (which has no such framework limit) keeps it too
    path = write(tmp_path, """
        rules:
          overrides:
            a: {max_signals: 250}
            b: {max_signals: 5000}
            c: {max_signals: "${MAX}"}
    """)
    overrides = load_settings(path, env={"MAX": "7"}).rules.overrides
    assert (overrides["a"].max_signals, overrides["b"].max_signals, overrides["c"].max_signals) == (250, 5000, 7)
    path = write(tmp_path, """
        rules:
          overrides:
            a: {max_signals: 0}
            b: {max_signals: lots}
            c: {max_signals: 2.5}
            d: {max_signals: true}
    """, "bad.yaml")
    assert problems(path) == [
        f"{path}: rules.overrides.a.max_signals, line 3:22: must be an integer >= 1 (got 0)",
        f'{path}: rules.overrides.b.max_signals, line 4:22: must be an integer >= 1 (got "lots")',
        f"{path}: rules.overrides.c.max_signals, line 5:22: must be an integer >= 1 (got 2.5)",
        f"{path}: rules.overrides.d.max_signals, line 6:22: must be an integer >= 1 (got true)",
    ]


def test_rule_selection(tmp_path: Path) -> None:
    path = write(tmp_path, """
        rules:
          include: {tags: ["os: windows"], rule_ids: [r3]}
          exclude: {rule_ids: [r2]}
    """)
    rules = load_settings(path, env={}).rules
    assert rules.selects("r1", ["OS: Windows"])
    assert not rules.selects("r2", ["OS: Windows"])
    assert rules.selects("r3", [])
    assert not rules.selects("r4", ["OS: Linux"])
    assert load_settings(write(tmp_path, "{}\n", "empty.yaml"), env={}).rules.selects("any", [])


def test_malformed_yaml_reports_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "backend: embedded\nscheduler:\n  max_concurrent_executions: 4\n   oops: 1\n")
    [message] = problems(path)
    assert message == f"{path}: line 4:8: invalid YAML: mapping values are not allowed here"


def test_malformed_yaml_does_not_quote_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, f'elasticsearch:\n  password: "{SECRET}\n')
    [message] = problems(path)
    assert message.startswith(f"{path}: line 3:1: invalid YAML:")
    assert_not_leaked(message)


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "- backend\n- embedded\n")
    [message] = problems(path)
    assert message.startswith(f"{path}: line 1:1: the top level must be a mapping of sections (backend, embedded")


def test_duplicate_keys_are_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "backend: embedded\nbackend: elasticsearch\n")
    assert problems(path) == [f'{path}: backend, line 2:1: duplicate key "backend" (first at line 1:1)']


def test_merge_keys(tmp_path: Path) -> None:
    path = write(tmp_path, """
        x-common: &common {interval: 10m, enabled: false}
        rules:
          overrides:
            a: {<<: *common}
            b: {<<: *common, enabled: true}
    """)
    [message] = problems(path)  # x-common is not a setting, but the merge itself is understood
    assert 'unknown key "x-common"' in message
    path = write(tmp_path, """
        rules:
          overrides:
            a: &common {interval: 10m, enabled: false}
            b: {<<: *common, enabled: true}
    """, "merge.yaml")
    overrides = load_settings(path, env={}).rules.overrides
    assert (overrides["b"].interval, overrides["b"].enabled) == ("10m", True)


def test_elasticsearch_backend_needs_its_section(tmp_path: Path) -> None:
    path = write(tmp_path, "backend: elasticsearch\n")
    assert problems(path) == [
        f'{path}: backend, line 1:10: the "elasticsearch" backend needs an elasticsearch section with hosts'
    ]
    path = write(tmp_path, "backend: elasticsearch\nelasticsearch: {username: elastic, password: x}\n", "b.yaml")
    assert problems(path) == [f'{path}: elasticsearch.hosts, line 2:1: missing required key "hosts"']


def test_hosts(tmp_path: Path) -> None:
    path = write(tmp_path, """
        elasticsearch:
          hosts: [ftp://x, "https://elastic:pw@node:9200"]
    """)
    assert problems(path) == [
        f"{path}: elasticsearch.hosts[0], line 2:11: must be an http:// or https:// URL with a host, "
        'e.g. https://localhost:9200 (got "ftp://x")',
        f"{path}: elasticsearch.hosts[1], line 2:20: must not contain credentials: set username and password "
        "(or api_key) instead",
    ]


# -- values ------------------------------------------------------------------------------------------------------------


def test_durations_parse(tmp_path: Path) -> None:
    path = write(tmp_path, """
        elasticsearch: {hosts: "https://localhost:9200", request_timeout: 1500ms}
        scheduler:
          first_run_jitter: 0s
          misfire_grace_time: 2m
    """)
    settings = load_settings(path, env={})
    assert settings.elasticsearch is not None
    assert settings.elasticsearch.request_timeout == timedelta(milliseconds=1500)
    assert settings.scheduler.first_run_jitter == timedelta(0)
    assert settings.scheduler.misfire_grace_time == timedelta(minutes=2)
    assert settings.redacted()["scheduler"]["first_run_jitter"] == "0s"
    assert settings.redacted()["elasticsearch"]["request_timeout"] == "1500ms"
    for zero in ("0", 0, "0m"):
        jitter = write(tmp_path, f"scheduler: {{first_run_jitter: {json.dumps(zero)}}}\n", "zero.yaml")
        assert load_settings(jitter, env={}).scheduler.first_run_jitter == timedelta(0)


def test_log_level_and_format_are_case_insensitive(tmp_path: Path) -> None:
    path = write(tmp_path, "logging: {level: warning, format: JSON}\nbackend: Embedded\n")
    settings = load_settings(path, env={})
    assert (settings.logging.level, settings.logging.format, settings.backend) == ("WARNING", "json", "embedded")


def test_alerts_index(tmp_path: Path) -> None:
    assert AlertsSettings(index="my-alerts").index_name == "my-alerts"
    assert AlertsSettings(space_id="soc").index_name == ".alerts-security.alerts-soc"
    path = write(tmp_path, "alerts: {index: My Alerts}\n")
    [message] = problems(path)
    assert message.startswith(f"{path}: alerts.index, line 1:17: must be an Elasticsearch index name")


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings(env={}, cwd=tmp_path)
    with pytest.raises(ValidationError, match="frozen"):
        settings.backend = "elasticsearch"


# -- paths -------------------------------------------------------------------------------------------------------------


def test_relative_paths_resolve_against_the_config_directory(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "es_password").write_text("from-file\n", encoding="utf-8")
    path = write(tmp_path / "config", """
        embedded: {path: ../state/store.db}
        rules: {paths: [../rules, /abs/rules, extra.toml]}
        elasticsearch:
          hosts: https://localhost:9200
          username: elastic
          password_file: ../secrets/es_password
          ca_certs: certs/ca.crt
    """)
    (tmp_path / "config" / "certs").mkdir()
    (tmp_path / "config" / "certs" / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    settings = load_settings(path, env={}, cwd=elsewhere)
    assert settings.embedded.path == tmp_path / "state" / "store.db"
    assert settings.rules.paths == [tmp_path / "rules", Path("/abs/rules"), tmp_path / "config" / "extra.toml"]
    assert settings.elasticsearch is not None
    assert settings.elasticsearch.ca_certs == tmp_path / "config" / "certs" / "ca.crt"
    assert settings.elasticsearch.password_file == tmp_path / "secrets" / "es_password"
    # an omitted section's defaults are relative to the config directory as well
    assert settings.alerts.space_id == "default"
    minimal = load_settings(write(tmp_path / "config", "{}\n", "minimal.yaml"), env={}, cwd=elsewhere)
    assert minimal.embedded.path == tmp_path / "config" / ".rule-runner" / "store.db"


def test_relative_config_path_is_taken_from_cwd(tmp_path: Path) -> None:
    write(tmp_path / "conf", "embedded: {path: store.db}\n", "x.yaml")
    settings = load_settings("conf/x.yaml", env={}, cwd=tmp_path)
    assert settings.source == tmp_path / "conf" / "x.yaml"
    assert settings.embedded.path == tmp_path / "conf" / "store.db"


# -- secrets -----------------------------------------------------------------------------------------------------------


def test_secrets_from_files(tmp_path: Path) -> None:
    (tmp_path / "key").write_text(f"{SECRET}\n\n", encoding="utf-8")
    (tmp_path / "pw").write_text("pw-from-file \n", encoding="utf-8")
    path = write(tmp_path, "elasticsearch: {hosts: 'https://h:9200', api_key_file: key}\n")
    es = load_settings(path, env={}).elasticsearch
    assert es is not None and es.api_key is not None
    assert es.api_key.get_secret_value() == SECRET
    assert es.api_key_file == tmp_path / "key"
    path = write(tmp_path, "elasticsearch: {hosts: 'https://h:9200', username: u, password_file: pw}\n", "b.yaml")
    es = load_settings(path, env={}).elasticsearch
    assert es is not None and es.password is not None
    assert es.password.get_secret_value() == "pw-from-file"


def test_unreadable_secret_file(tmp_path: Path) -> None:
    path = write(tmp_path, "elasticsearch:\n  hosts: https://h:9200\n  api_key_file: missing-key\n")
    assert problems(path) == [
        f"{path}: elasticsearch.api_key_file, line 3:17: cannot read {tmp_path / 'missing-key'}: "
        "No such file or directory"
    ]
    (tmp_path / "empty").write_text("\n", encoding="utf-8")
    path = write(tmp_path, "elasticsearch:\n  hosts: https://h:9200\n  api_key_file: empty\n", "b.yaml")
    assert problems(path) == [f"{path}: elasticsearch.api_key_file, line 3:17: {tmp_path / 'empty'} is empty"]


def test_secret_and_its_file_are_exclusive(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("k", encoding="utf-8")
    path = write(tmp_path, f"""
        elasticsearch:
          hosts: https://h:9200
          api_key: {SECRET}
          api_key_file: key
    """)
    [message] = problems(path)
    assert message == f"{path}: elasticsearch.api_key_file, line 4:17: set either api_key or api_key_file, not both"
    path = write(tmp_path, f"""
        elasticsearch:
          hosts: https://h:9200
          username: elastic
          password: {SECRET}
          password_file: key
    """, "b.yaml")
    [message] = problems(path)
    assert message == f"{path}: elasticsearch.password_file, line 5:18: set either password or password_file, not both"


def test_credentials_must_be_complete_and_single(tmp_path: Path) -> None:
    path = write(tmp_path, f"elasticsearch:\n  hosts: https://h:9200\n  password: {SECRET}\n")
    assert problems(path) == [f"{path}: elasticsearch.password, line 3:13: a password needs a username"]
    path = write(tmp_path, "elasticsearch:\n  hosts: https://h:9200\n  username: elastic\n", "b.yaml")
    assert problems(path) == [
        f"{path}: elasticsearch.username, line 3:13: a username needs a password (or password_file)"
    ]
    path = write(tmp_path, f"""
        elasticsearch:
          hosts: https://h:9200
          api_key: {SECRET}
          username: elastic
          password: {SECRET}
    """, "c.yaml")
    [message] = problems(path)
    assert message == (
        f"{path}: elasticsearch.api_key, line 3:12: use either an API key or a username and password, not both"
    )


def test_secrets_do_not_leak_into_output(tmp_path: Path) -> None:
    path = write(tmp_path, f"""
        backend: elasticsearch
        elasticsearch:
          hosts: https://h:9200
          api_key: {SECRET}
    """)
    settings = load_settings(path, env={})
    es = settings.elasticsearch
    assert es is not None and es.api_key is not None and es.api_key.get_secret_value() == SECRET
    for text in (repr(settings), str(settings), repr(es), str(es.api_key),
                 json.dumps(settings.model_dump(mode="json")), json.dumps(settings.redacted())):
        assert_not_leaked(text)
    assert settings.redacted()["elasticsearch"]["api_key"] == "**********"
    assert settings.redacted()["source"] == str(path)


def test_secrets_do_not_leak_into_errors(tmp_path: Path) -> None:
    # errors beside a secret, on the secret itself (wrong type) and on the section holding it
    path = write(tmp_path, f"""
        elasticsearch:
          hosts: https://h:9200
          api_key: {SECRET}
          request_timeout: {SECRET}
          max_retries: lots
          password: [{SECRET}]
          pasword: {SECRET}
    """)
    with pytest.raises(SettingsError) as caught:
        load_settings(path, env={})
    text = str(caught.value)
    assert "elasticsearch.max_retries, line 5:16: must be an integer >= 0 (got \"lots\")" in text
    assert "elasticsearch.password, line 6:13: must be text" in text
    assert 'elasticsearch.pasword, line 7:3: unknown key "pasword"; did you mean "password"?' in text
    # request_timeout is not a secret field, so its value shows: only secret keys are masked
    assert text.count(SECRET) == 1 and "request_timeout" in text
    assert caught.value.__context__ is None and caught.value.__cause__ is None


def test_secret_value_is_never_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, f"""
        elasticsearch:
          hosts: https://h:9200
          username: [elastic]
          password: {SECRET}
        scheduler: {{max_concurrent_executions: bad}}
    """)
    text = "\n".join(problems(path))
    assert "elasticsearch.username" in text and "scheduler.max_concurrent_executions" in text
    assert_not_leaked(text)


def test_models_can_be_built_directly(tmp_path: Path) -> None:
    es = ElasticsearchSettings.model_validate({"hosts": "https://a:9200,https://b:9200", "api_key": SECRET})
    assert es.hosts == ["https://a:9200", "https://b:9200"]
    assert_not_leaked(repr(es))
    settings = Settings.model_validate({"embedded": {"path": "s.db"}}, context={"base": tmp_path})
    assert settings.embedded.path == tmp_path / "s.db"
    assert settings.source is None
    # populate_by_name: the field name works too; mypy, without pydantic's plugin, knows only the alias `from`
    assert RuleOverride(from_="now-1h").from_ == "now-1h"  # type: ignore[call-arg]


# -- kibana ------------------------------------------------------------------------------------------------------------


def test_kibana_is_optional_and_off_by_default(tmp_path: Path) -> None:
    kibana = load_settings(env={}, cwd=tmp_path).kibana
    assert (kibana.url, kibana.public_base_url, kibana.links_base_url) == (None, None, None)
    assert kibana.verify_certs is True


def test_kibana_urls_are_validated_and_normalised(tmp_path: Path) -> None:
    path = write(tmp_path, """
        kibana:
          public_base_url: HTTPS://Kibana.Example.COM:5601/kbn/
          url: ${KIBANA_URL}
    """)
    kibana = load_settings(path, env={"KIBANA_URL": " http://[::1]:5601 "}).kibana
    assert kibana.public_base_url == "https://kibana.example.com:5601/kbn"
    assert kibana.url == "http://[::1]:5601"
    assert kibana.links_base_url == "https://kibana.example.com:5601/kbn"
    only_url = load_settings(write(tmp_path, "kibana: {url: 'https://k/'}\n", "b.yaml"), env={}).kibana
    assert only_url.links_base_url == "https://k"  # Kibana's address is the links' base unless told otherwise
    path = write(tmp_path, f"""
        kibana:
          public_base_url: ftp://kibana
          url: https://elastic:{SECRET}@kibana:5601
    """, "c.yaml")
    messages = problems(path)
    assert messages == [
        f"{path}: kibana.public_base_url, line 2:20: must be an http:// or https:// URL with a host, e.g. "
        'https://kibana.example.com:5601 (got "ftp://kibana")',
        f"{path}: kibana.url, line 3:8: must not contain credentials: set kibana.api_key (or username and "
        "password) instead",
    ]
    path = write(tmp_path, f"kibana:\n  public_base_url: https://kibana/?token={SECRET}\n", "d.yaml")
    assert problems(path) == [f"{path}: kibana.public_base_url, line 2:20: may only contain a protocol, a host, a "
                              "port and a path (no ?query or #fragment)"]


def test_kibana_credentials_come_from_the_environment_or_files_and_stay_secret(tmp_path: Path) -> None:
    (tmp_path / "kibana_key").write_text(SECRET + "\n")
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    path = write(tmp_path, """
        kibana:
          url: https://kibana:5601
          api_key_file: kibana_key
          ca_certs: ca.crt
    """)
    settings = load_settings(path, env={})
    kibana = settings.kibana
    assert kibana.api_key is not None and kibana.api_key.get_secret_value() == SECRET
    assert kibana.ca_certs == tmp_path / "ca.crt"
    assert settings.redacted()["kibana"]["api_key"] == "**********"
    for text in (repr(settings), str(settings), json.dumps(settings.model_dump(mode="json")),
                 json.dumps(settings.redacted())):
        assert_not_leaked(text)
    path = write(tmp_path, "kibana:\n  url: https://kibana\n  username: elastic\n  password: ${KIBANA_PASSWORD}\n",
                 "b.yaml")
    kibana = load_settings(path, env={"KIBANA_PASSWORD": SECRET}).kibana
    assert kibana.username == "elastic" and kibana.password is not None
    assert load_settings(path, env={"KIBANA_PASSWORD": SECRET}).redacted()["kibana"]["password"] == "**********"


def test_a_missing_kibana_ca_certs_file_is_a_configuration_error(tmp_path: Path) -> None:
    path = write(tmp_path, "kibana:\n  url: https://kibana:5601\n  ca_certs: missing.crt\n")
    assert problems(path) == [f"{path}: kibana.ca_certs, line 3:13: no such file: {tmp_path / 'missing.crt'}"]


def test_kibana_credentials_are_checked_like_elasticsearchs(tmp_path: Path) -> None:
    path = write(tmp_path, f"kibana:\n  url: https://k\n  api_key: {SECRET}\n  username: elastic\n  password: x\n")
    assert problems(path) == [
        f"{path}: kibana.api_key, line 3:12: use either an API key or a username and password, not both"
    ]
    path = write(tmp_path, "kibana:\n  url: https://k\n  username: elastic\n", "b.yaml")
    assert problems(path) == [f"{path}: kibana.username, line 3:13: a username needs a password (or password_file)"]
    # credentials without Kibana's address would be silently unused
    path = write(tmp_path, f"kibana:\n  public_base_url: https://k\n  api_key: {SECRET}\n", "c.yaml")
    assert problems(path) == [f"{path}: kibana.api_key, line 3:12: needs kibana.url, Kibana's address for its API"]
    path = write(tmp_path, f"kibana:\n  url: https://k\n  api_key: [{SECRET}]\n  verify_cert: false\n", "d.yaml")
    text = "\n".join(problems(path))
    assert "kibana.api_key, line 3:12: must be text" in text
    assert 'kibana.verify_cert, line 4:3: unknown key "verify_cert"; did you mean "verify_certs"?' in text
    assert_not_leaked(text)
