"""Static checks of docker/ (the compose demo and the runner image). No Docker needed: nothing here builds or runs."""

from __future__ import annotations

import importlib.util
import re
import shlex
from pathlib import Path

import pytest
import yaml

from runner.alerts import kibana_version_for

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "docker-compose.yml"
DOCKERFILE = DOCKER / "Dockerfile"
ENV_EXAMPLE = DOCKER / ".env.example"

# ${VAR}, ${VAR:-default}, ${VAR?err} ...; `$${...}` is an escaped `$` for the container's shell, not a compose variable.
COMPOSE_VAR = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f".env.example: not KEY=VALUE: {line!r}"
            values[key.strip()] = value.strip()
    return values


def environment(service: dict) -> dict[str, str]:
    """A service's environment as a dict, whether written as a list of KEY=VALUE or as a mapping."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_compose_parses_and_has_the_services(services):
    assert {"setup", "es01", "kibana", "load-samples", "runner"} <= set(services)


def test_elasticsearch_and_kibana_have_healthchecks(services):
    for name in ("es01", "kibana"):
        test = services[name]["healthcheck"]["test"]
        assert test and test[0] in ("CMD", "CMD-SHELL"), name
    assert "missing authentication credentials" in " ".join(services["es01"]["healthcheck"]["test"])
    assert "--cacert" in " ".join(services["es01"]["healthcheck"]["test"])


def test_kibana_connects_as_kibana_system_never_elastic(services):
    env = environment(services["kibana"])
    assert env["ELASTICSEARCH_USERNAME"] == "kibana_system"
    assert env["ELASTICSEARCH_PASSWORD"] == "${KIBANA_PASSWORD}"
    assert "ELASTIC_PASSWORD" not in " ".join(env.values())
    assert env["ELASTICSEARCH_HOSTS"].startswith("https://es01:9200")
    assert env["ELASTICSEARCH_SSL_CERTIFICATEAUTHORITIES"]
    for key in ("XPACK_ENCRYPTEDSAVEDOBJECTS_ENCRYPTIONKEY", "XPACK_SECURITY_ENCRYPTIONKEY",
                "XPACK_REPORTING_ENCRYPTIONKEY"):
        assert env[key] == "${KIBANA_ENCRYPTION_KEY}"


def test_elasticsearch_security_and_tls_are_on(services):
    es = services["es01"]
    env = environment(es)
    assert env["discovery.type"] == "single-node"
    assert env["xpack.security.enabled"] == "true"
    assert env["xpack.security.http.ssl.enabled"] == "true"
    assert env["xpack.security.http.ssl.certificate"] and env["xpack.security.http.ssl.key"]
    assert env["ELASTIC_PASSWORD"] == "${ELASTIC_PASSWORD}"
    assert es["ulimits"]["memlock"] == {"soft": -1, "hard": -1}
    assert es["mem_limit"] == "${MEM_LIMIT}"
    # nothing talks to Elasticsearch over plain http or with verification off
    text = COMPOSE.read_text()
    assert "http://es01" not in text
    assert not re.search(r"verification_?mode\W+none", text, re.IGNORECASE)
    assert "verify_certs" not in text and "--insecure" not in text and "curl -k" not in text


def test_setup_generates_certificates_and_sets_kibana_system_password(services):
    script = " ".join(services["setup"]["command"])
    assert "elasticsearch-certutil ca" in script and "elasticsearch-certutil cert" in script and "--pem" in script
    for san in ("es01", "localhost", "127.0.0.1"):
        assert san in script
    assert "/_security/user/kibana_system/_password" in script
    assert "certs:/usr/share/elasticsearch/config/certs" in services["setup"]["volumes"]


def test_stack_images_use_the_pinned_stack_version(services, env_example):
    elastic_images = [s["image"] for s in services.values() if "docker.elastic.co" in s.get("image", "")]
    assert len(elastic_images) == 3  # setup, es01, kibana
    for image in elastic_images:
        assert image.endswith(":${STACK_VERSION}"), image
    assert re.fullmatch(r"\d+\.\d+\.\d+", env_example["STACK_VERSION"]), "pin an exact X.Y.Z tag"
    # the stack runs the runner in Kibana mode: its Kibana must be one whose alert format rule-runner writes
    assert kibana_version_for(env_example["STACK_VERSION"]) == env_example["STACK_VERSION"]


def test_runner_and_load_samples_use_the_runner_image(services):
    for name in ("runner", "load-samples"):
        service = services[name]
        assert service["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
        assert service["image"] == services["runner"]["image"]
        assert "certs:/usr/share/rule-runner/certs:ro" in service["volumes"]


def test_runner_service(services):
    runner = services["runner"]
    env = environment(runner)
    assert env["ES_HOSTS"] == "https://es01:9200"
    assert env["ES_USERNAME"] == "elastic"
    assert env["ES_PASSWORD"] == "${ELASTIC_PASSWORD}"
    assert env["ES_CA_CERTS"] == "/usr/share/rule-runner/certs/ca/ca.crt"
    assert env["ALERTS_MODE"] == "kibana"
    assert env["LOG_FORMAT"] == "json"
    # links at Kibana's public address (the one Kibana itself is told), rule ids through its address in the network
    assert env["KIBANA_PUBLIC_BASE_URL"] == environment(services["kibana"])["SERVER_PUBLICBASEURL"]
    assert env["KIBANA_URL"] == "http://kibana:5601"
    assert (env["KIBANA_USERNAME"], env["KIBANA_USER_PASSWORD"]) == ("elastic", "${ELASTIC_PASSWORD}")
    assert runner["restart"] == "unless-stopped"
    assert runner["depends_on"]["es01"]["condition"] == "service_healthy"
    assert runner["depends_on"]["load-samples"]["condition"] == "service_completed_successfully"


def test_load_samples_waits_for_the_stack_then_ingests(services):
    load = services["load-samples"]
    assert load["depends_on"]["es01"]["condition"] == "service_healthy"
    assert load["depends_on"]["kibana"]["condition"] == "service_healthy"
    command = " ".join(load["command"])
    assert "/app/docker/ensure_alerts_index.py" in command
    assert "rule-runner ingest /app/samples/seed_rule.ndjson --shift-to-now" in command
    assert "--config /app/config/runner.elasticsearch.yaml" in command
    assert environment(load)["ES_CA_CERTS"] == "/usr/share/rule-runner/certs/ca/ca.crt"


def test_every_compose_variable_is_defined_in_env_example(env_example):
    used = set(COMPOSE_VAR.findall(COMPOSE.read_text()))
    assert used, "the compose file uses no variables?"
    assert not used - set(env_example), f"not in docker/.env.example: {sorted(used - set(env_example))}"


def test_env_example_meets_the_documented_requirements(env_example):
    assert {"STACK_VERSION", "ELASTIC_PASSWORD", "KIBANA_PASSWORD", "KIBANA_ENCRYPTION_KEY", "ES_PORT", "KIBANA_PORT",
            "MEM_LIMIT"} <= set(env_example)
    assert len(env_example["ELASTIC_PASSWORD"]) >= 6
    assert len(env_example["KIBANA_PASSWORD"]) >= 6
    assert len(env_example["KIBANA_ENCRYPTION_KEY"]) >= 32
    assert env_example["ES_PORT"].isdigit() and env_example["KIBANA_PORT"].isdigit()


def test_dockerfile_non_root_healthcheck_entrypoint():
    instructions = dockerfile_instructions()
    froms = [args for word, args in instructions if word == "FROM"]
    assert len(froms) == 2, "multi-stage: a builder and the final stage"
    assert froms[0].endswith("AS builder")
    assert ("ARG", "PYTHON_IMAGE=python:3.11-slim") in instructions

    users = [args for word, args in instructions if word == "USER"]
    assert users, "no USER"
    final_user = users[-1].split(":")[0]
    assert final_user not in ("root", "0"), users[-1]
    # the USER comes after the last FROM (it applies to the final image)
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    assert any(word == "USER" for word, _ in instructions[last_from:])

    healthchecks = [args for word, args in instructions if word == "HEALTHCHECK"]
    assert len(healthchecks) == 1 and "/tmp/rule-runner.health" in healthchecks[0]
    assert ("ENTRYPOINT", '["rule-runner"]') in instructions
    cmd = next(args for word, args in instructions if word == "CMD")
    assert "--health-file" in cmd and "/tmp/rule-runner.health" in cmd
    assert ("WORKDIR", "/app") in instructions
    copied = " ".join(args for word, args in instructions if word == "COPY")
    for directory in ("rules/", "config/", "samples/"):
        assert directory in copied
    env = " ".join(args for word, args in instructions if word == "ENV")
    assert "PYTHONUNBUFFERED=1" in env


def test_dockerfile_has_no_secrets():
    instructions = dockerfile_instructions()
    secret = re.compile(r"(PASSWORD|API_KEY|SECRET|TOKEN|PRIVATE_KEY)", re.IGNORECASE)
    for word, args in instructions:
        if word in ("ENV", "ARG", "LABEL"):
            for part in shlex.split(args):
                name = part.split("=", 1)[0]
                assert not secret.search(name), f"{word} {args}"
        if word in ("COPY", "ADD"):
            assert ".env" not in args and "certs" not in args and ".key" not in args, f"{word} {args}"


def test_ignore_files_keep_secrets_out():
    gitignore = {line.strip() for line in (ROOT / ".gitignore").read_text().splitlines()}
    assert {"docker/.env", "docker/certs/"} <= gitignore
    dockerignore = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {"docker/.env", "docker/certs/", ".git", ".venv*"} <= dockerignore


def _load_ensure_script():
    spec = importlib.util.spec_from_file_location("ensure_alerts_index", DOCKER / "ensure_alerts_index.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ensure_alerts_index_classifies_resolve_answers():
    script = _load_ensure_script()
    name = script.alerts_alias("default")
    assert name == ".alerts-security.alerts-default"
    alias = {"indices": [{"name": ".internal.alerts-security.alerts-default-000001",
                          "aliases": [name]}], "aliases": [{"name": name}], "data_streams": []}
    assert script.classify(alias, name) == "alias"
    assert script.classify({"indices": [], "aliases": [], "data_streams": [{"name": name}]}, name) == "data_stream"
    assert script.classify({"indices": [{"name": name}], "aliases": [], "data_streams": []}, name) == "index"
    assert script.classify({"indices": [], "aliases": [], "data_streams": []}, name) == "missing"
    assert script.space_prefix("default") == "" and script.space_prefix("soc") == "/s/soc"
