"""Kibana's detection engine API, for one question: which saved-object id has the installed rule with this `rule_id`.

Alerts name their rule by that id (`kibana.alert.rule.uuid`): the Security app links an alert to its rule through
it, and alert ids hash it. `installed_rule_uuids()` asks Kibana once for a whole set of rule ids:
`GET [/s/<space>]/api/detection_engine/rules/_find` with the KQL filter `alert.attributes.params.ruleId: ("a" OR
...)`, paged, in chunks so that the filter (which travels in the URL) stays far below the 16 kB Kibana's HTTP server
accepts for a request's head. `elastic-api-version: 2023-10-31` names the public API version this reads.

The transport is `elastic_transport`'s node (already installed with the Elasticsearch client): TLS verification on
unless `kibana.verify_certs: false`, a CA bundle, one attempt per request. The body is parsed here, whatever the
content type says. Failures are translated at this boundary into the backend error classes: connection trouble,
timeouts, 408, 429 and 5xx (Kibana answers 503 while it starts) are a `TransientError`, worth retrying;
authentication, privileges, TLS, a wrong address or space, and an answer that is not the detection engine API's
are an `AccessError`, a configuration problem. Credentials only ever travel in the `Authorization` header, which
neither a message nor the transport's log shows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, HttpHeaders, TlsError, TransportError, Urllib3HttpNode
from elastic_transport.client_utils import basic_auth_to_header, url_to_node_config

from runner.backends.errors import AccessError, BackendError, TransientError
from runner.settings import KibanaSettings

log = logging.getLogger("runner.backends.kibana")

API_VERSION = "2023-10-31"
FIND_RULES = "/api/detection_engine/rules/_find"
RULE_ID_FIELD = "alert.attributes.params.ruleId"
# rule ids per request: 50 detection-rules uuids make a filter of ~3 kB once URL-encoded
CHUNK = 50
_SHOWN = 300  # characters of a Kibana message kept in an error


class KibanaClient:
    """A connection to Kibana's API at `kibana.url`, with the configured credentials and TLS settings."""

    def __init__(self, settings: KibanaSettings) -> None:
        if settings.url is None:
            raise ValueError("KibanaClient needs kibana.url")
        self.url = settings.url
        self.timeout = settings.request_timeout.total_seconds()
        try:
            config = url_to_node_config(settings.url, use_default_ports_for_scheme=True)
        except ValueError as error:
            raise AccessError(f"Kibana ({self.url}): {error}") from None
        options: dict[str, Any] = {"request_timeout": self.timeout}
        if config.scheme == "https":
            options.update(verify_certs=settings.verify_certs, ssl_show_warn=False,
                           ca_certs=str(settings.ca_certs) if settings.ca_certs is not None else None)
            if not settings.verify_certs:
                log.warning("TLS certificate verification is off (kibana.verify_certs: false)")
        self.headers = {"accept": "application/json", "elastic-api-version": API_VERSION}
        if settings.api_key is not None:
            self.headers["authorization"] = f"ApiKey {settings.api_key.get_secret_value()}"
        elif settings.username is not None and settings.password is not None:
            self.headers["authorization"] = basic_auth_to_header((settings.username,
                                                                  settings.password.get_secret_value()))
        try:
            self.node = Urllib3HttpNode(replace(config, **options))
        except (ValueError, OSError) as error:  # e.g. a CA bundle that cannot be read
            raise AccessError(f"Kibana ({self.url}): cannot configure the connection: {error}") from None

    def close(self) -> None:
        self.node.close()

    def __enter__(self) -> KibanaClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def installed_rule_uuids(self, rule_ids: Sequence[str], space_id: str = "default") -> dict[str, str]:
        """rule_id → the id of the rule installed with it in the space, for those of `rule_ids` Kibana has."""
        found: dict[str, str] = {}
        wanted = list(dict.fromkeys(rule_ids))
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start:start + CHUNK]
            for rule in self._find(chunk, space_id):
                rule_id, uuid = rule.get("rule_id"), rule.get("id")
                if not isinstance(rule_id, str) or not isinstance(uuid, str) or not uuid:
                    raise self._not_the_api(space_id, "a rule without rule_id or id")
                if rule_id not in chunk:
                    continue
                if found.get(rule_id, uuid) != uuid:  # Kibana keeps rule_ids unique per space: never guess
                    raise AccessError(
                        f"Kibana ({self.url}): space {space_id!r} has two rules with rule_id {rule_id} "
                        f"({found[rule_id]} and {uuid}); set rules.overrides.{rule_id}.uuid to the one its alerts "
                        "belong to")
                found[rule_id] = uuid
        return found

    def _find(self, rule_ids: Sequence[str], space_id: str) -> Iterator[dict[str, Any]]:
        """Every rule `_find` returns for these rule ids, page after page."""
        terms = " OR ".join(f'"{_kql_quoted(rule_id)}"' for rule_id in rule_ids)
        page, seen = 1, 0
        while True:
            query = urlencode({"filter": f"{RULE_ID_FIELD}: ({terms})", "page": page, "per_page": CHUNK})
            body = self._get(f"{_space_prefix(space_id)}{FIND_RULES}?{query}", space_id)
            data, total = body.get("data"), body.get("total")
            if not isinstance(data, list) or not isinstance(total, int) or isinstance(total, bool):
                raise self._not_the_api(space_id, "no data and total in the answer")
            for rule in data:
                if not isinstance(rule, dict):
                    raise self._not_the_api(space_id, "a rule that is not an object")
                yield rule
            seen += len(data)
            if not data or seen >= total:
                return
            page += 1

    def _get(self, target: str, space_id: str) -> dict[str, Any]:
        try:
            response = self.node.perform_request("GET", target, headers=HttpHeaders(self.headers),
                                                 request_timeout=self.timeout)
        except TransportError as error:
            raise self._failed(error) from None
        status = response.meta.status
        body = _json(response.body)
        if status == 200:
            if not isinstance(body, dict):
                raise self._not_the_api(space_id, "an answer that is not a JSON object")
            return body
        raise self._refused(status, _message(body, response.body), space_id)

    def _refused(self, status: int, message: str, space_id: str) -> BackendError:
        what = f"Kibana ({self.url}): HTTP {status}" + (f": {message}" if message else "")
        if status == 401:
            return AccessError(f"{what}; check kibana.api_key (or kibana.username and password)")
        if status == 403:
            return AccessError(f"{what}; the user or API key needs read access to the Security app's rules in space "
                               f"{space_id!r}")
        if status == 404:
            return AccessError(f"{what}; is kibana.url Kibana's address, and is alerts.space_id ({space_id!r}) one "
                               "of its spaces?")
        if status in (408, 429) or status >= 500:
            return TransientError(what)
        return AccessError(what)

    def _failed(self, error: TransportError) -> BackendError:
        detail = getattr(error, "message", None) or str(error)
        if isinstance(error, TlsError):
            return AccessError(f"Kibana ({self.url}): TLS failed: {detail}; check kibana.ca_certs and Kibana's "
                               "certificate")
        if isinstance(error, ConnectionTimeout):
            return TransientError(f"Kibana ({self.url}): no answer within {self.timeout:g}s "
                                  "(kibana.request_timeout)")
        if isinstance(error, TransportConnectionError):
            return TransientError(f"Kibana ({self.url}): cannot connect: {detail}")
        return TransientError(f"Kibana ({self.url}): {type(error).__name__}: {detail}")

    def _not_the_api(self, space_id: str, what: str) -> AccessError:
        return AccessError(f"Kibana ({self.url}): the answer is not the detection engine API's ({what}) in space "
                           f"{space_id!r}; is kibana.url Kibana's address?")


def _space_prefix(space_id: str) -> str:
    return "" if space_id == "default" else f"/s/{space_id}"


def _kql_quoted(value: str) -> str:
    """`value` inside a KQL double-quoted string: backslashes and quotes escaped (what Kibana's own code does)."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def _message(body: Any, raw: bytes) -> str:
    """Kibana's error message: `message` of `{"statusCode", "error", "message"}` (the HTTP layer) or of
    `{"status_code", "message"}` (the detection engine's routes), else the start of the body."""
    if isinstance(body, dict):
        text = body.get("message") or body.get("error")
        if text:
            return str(text)[:_SHOWN]
    return raw[:_SHOWN].decode("utf-8", "replace").strip() if raw else ""


__all__ = ["API_VERSION", "CHUNK", "KibanaClient"]
