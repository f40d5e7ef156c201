"""`kibana.version` and the alert format it stands for: the release whose format the documents follow, or, in Kibana
mode, the cluster's own whenever rule-runner writes its format."""

from __future__ import annotations

import pytest

from runner.alerts import KIBANA_VERSION, UnsupportedKibanaVersion, kibana_version_for
from runner.alerts.versions import BOUNDARIES, NEWEST, OLDEST, AlertFormat, format_for, lacking


def test_the_documents_say_the_release_of_their_newest_format() -> None:
    # the dotted/nested shell intersection (kibana#254830, 9.4) is the newest format the documents follow
    assert KIBANA_VERSION == "9.4.0" == "{}.{}.{}".format(*max(b.since_9 for b in BOUNDARIES))
    assert format_for(KIBANA_VERSION) == NEWEST and lacking(NEWEST) == ""


# per boundary: the release just below it and the first at it, on each line that has it
@pytest.mark.parametrize(("below", "at", "flag"), [
    ("8.17.9", "8.18.0", "service_enrichment"),
    ("8.18.8", "8.19.0", "original_data_stream"),
    ("9.0.8", "9.1.0", "original_data_stream"),
    ("9.1.9", "9.2.0", "missing_events_excluded"),
    ("9.3.4", "9.4.0", "notation_intersection"),
])
def test_a_format_starts_at_its_release(below: str, at: str, flag: str) -> None:
    before, after = format_for(below), format_for(at)
    assert not getattr(before, flag) and getattr(after, flag)
    # nothing else changes there
    assert {f for f in vars(before) if getattr(before, f) != getattr(after, f)} == {flag}


@pytest.mark.parametrize(("version", "expected"), [
    ("8.16.0", AlertFormat(False, False, False, False)),
    ("8.17.4", AlertFormat(False, False, False, False)),
    ("8.18.2", AlertFormat(True, False, False, False)),
    ("8.19.3", AlertFormat(True, True, False, False)),  # the last 8.x minor has none of the 9.2 and 9.4 formats
    ("9.0.0", AlertFormat(True, False, False, False)),
    ("9.3.1", AlertFormat(True, True, True, False)),
    ("9.5.2", NEWEST),
    ("10.0.0", NEWEST),
])
def test_each_release_has_its_format(version: str, expected: AlertFormat) -> None:
    assert format_for(version) == expected


@pytest.mark.parametrize(("cluster", "written"), [
    ("8.16.0", "8.16.0"), ("8.17.4", "8.17.4"), ("8.19.3", "8.19.3"), ("9.0.0", "9.0.0"), ("9.3.1", "9.3.1"),
    ("9.4.0", "9.4.0"), ("9.5.2", "9.5.2"), ("9.6.0-SNAPSHOT", "9.6.0"), ("9.10.1", "9.10.1"),
])
def test_a_cluster_whose_kibanas_format_is_written_gives_its_version(cluster: str, written: str) -> None:
    assert kibana_version_for(cluster) == written
    format_for(written)  # and that version's format is one the builder writes


@pytest.mark.parametrize(("cluster", "why"), [
    ("8.15.5", "before 8.16 Kibana builds an alert's event part another way"),
    ("8.0.0", "writes neither kibana.alert.intended_timestamp nor kibana.alert.rule.execution.type"),
    ("7.17.20", "a 7.x Kibana writes .siem-signals documents"),
])
def test_an_older_cluster_is_refused_with_what_differs(cluster: str, why: str) -> None:
    with pytest.raises(UnsupportedKibanaVersion) as info:
        kibana_version_for(cluster)
    message = str(info.value)
    assert message.startswith(f"Elasticsearch {cluster}: its Kibana") and why in message
    assert message.endswith("Upgrade the stack to 8.16 or later, or set alerts.mode: standalone")
    assert OLDEST == (8, 16, 0)


def test_an_unreadable_or_unwritten_version_is_refused() -> None:
    with pytest.raises(UnsupportedKibanaVersion, match="cannot read the cluster's version '\\?'"):
        kibana_version_for("?")
    with pytest.raises(UnsupportedKibanaVersion, match=r"Kibana 8.15.0: rule-runner does not write its alert format"):
        format_for("8.15.0")
    with pytest.raises(UnsupportedKibanaVersion, match="cannot read the Kibana version 'x'"):
        format_for("x")


def test_what_an_older_format_lacks_is_said_in_words() -> None:
    assert lacking(format_for("8.19.3")) == (
        "missing sequence events left out; shell intersection treating dotted keys and nested objects as one path")
