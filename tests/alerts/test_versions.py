"""`kibana.version`: the release whose alert formats the documents follow, or, in Kibana mode, the cluster's own."""

from __future__ import annotations

import pytest

from runner.alerts import KIBANA_VERSION, UnsupportedKibanaVersion, kibana_version_for
from runner.alerts.versions import FORMATS


def test_the_documents_say_the_release_of_their_newest_format() -> None:
    # the dotted/nested shell intersection (kibana#254830) is the newest format the documents follow
    assert KIBANA_VERSION == "9.4.0" == "{}.{}.0".format(*max(fmt.since for fmt in FORMATS))


@pytest.mark.parametrize(("cluster", "written"), [("9.4.0", "9.4.0"), ("9.5.2", "9.5.2"), ("9.6.0-SNAPSHOT", "9.6.0"),
                                                   ("9.10.1", "9.10.1")])
def test_a_cluster_whose_kibana_writes_these_formats_gives_its_version(cluster: str, written: str) -> None:
    assert kibana_version_for(cluster) == written


@pytest.mark.parametrize(("cluster", "lacks"), [
    ("9.3.1", "sequence shells"),
    ("9.0.8", "data_stream.* copied"),
    ("8.19.3", "sequence shells"),
    ("8.17.0", "immutable and rule_source"),
])
def test_an_older_cluster_is_refused_with_what_differs(cluster: str, lacks: str) -> None:
    with pytest.raises(UnsupportedKibanaVersion) as info:
        kibana_version_for(cluster)
    message = str(info.value)
    assert message.startswith(f"Elasticsearch {cluster}: its Kibana") and lacks in message
    assert message.endswith("Upgrade the stack to 9.4 or later, or set alerts.mode: standalone")


def test_an_unreadable_version_is_refused() -> None:
    with pytest.raises(UnsupportedKibanaVersion, match="cannot read the cluster's version '\\?'"):
        kibana_version_for("?")
