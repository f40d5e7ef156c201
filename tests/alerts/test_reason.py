"""The reason sentence (kibana-eql-execution.md §3.4): the two documented examples and the rules for absent values."""

from __future__ import annotations

from runner.alerts import build_reason


def test_documented_example_with_process_parent_user_and_host() -> None:
    source = {
        "event": {"category": ["process"]},
        "process": {"name": "cmd.exe", "parent": {"name": "winword.exe"}},
        "user": {"name": "alice"},
        "host": {"name": "ws-01"},
    }
    assert build_reason("Suspicious Child", "high", source) == (
        "process event with process cmd.exe, parent process winword.exe, by alice on ws-01 "
        "created high alert Suspicious Child."
    )


def test_documented_example_with_a_source_address_only() -> None:
    assert build_reason("rule-name", "high", {"source": {"ip": "127.0.0.1"}}) == (
        "event with source 127.0.0.1 created high alert rule-name."
    )


def test_nothing_known_gives_the_bare_sentence() -> None:
    assert build_reason("r", "low", {"message": "x"}) == "event created low alert r."
    assert build_reason("r", "low", None) == "event created low alert r."


def test_arrays_are_joined_and_dash_means_absent() -> None:
    source = {"event.category": ["process", "network"], "user": {"name": ["-"]}, "host": {"name": "-"},
              "file": {"name": ["a.txt", "b.txt"]}}
    assert build_reason("r", "medium", source) == (
        "process, network event with file a.txt, b.txt, created medium alert r."
    )


def test_dotted_and_nested_keys_are_both_read() -> None:
    source = {"user.name": "bob", "host": {"name": "h"}}
    assert build_reason("r", "low", source) == "event by bob on h created low alert r."


def test_ports_show_only_as_arrays_because_kibana_reads_their_length() -> None:
    bare = {"destination": {"ip": "10.0.0.9", "port": 443}}
    boxed = {"destination": {"ip": "10.0.0.9", "port": [443]}}
    assert build_reason("r", "low", bare) == "event with destination 10.0.0.9 created low alert r."
    assert build_reason("r", "low", boxed) == "event with destination 10.0.0.9:443, created low alert r."


def test_fields_are_read_when_the_source_is_empty() -> None:
    fields = {"process.name": ["sh"], "host.name": ["web-1"]}
    assert build_reason("r", "low", {}, fields) == "event with process sh, on web-1 created low alert r."
    assert build_reason("r", "low", {"user": {"name": "x"}}, fields) == "event by x created low alert r."
