"""Rule definitions: the detection-rules TOML format, its loader, and rule timing (intervals, date math)."""

from runner.catalog.loader import (
    QUERY_LANGUAGES,
    Catalog,
    ParsedQuery,
    Rule,
    RuleLoadError,
    UuidSource,
    load_rule_file,
    load_rules,
)
from runner.catalog.model import RuleDocument, RuleParams, default_rule_uuid
from runner.catalog.source import RuleSource
from runner.catalog.timing import DateMath, TimingError, empty_window, format_duration, iso, parse_duration

__all__ = [
    "Catalog",
    "DateMath",
    "ParsedQuery",
    "QUERY_LANGUAGES",
    "Rule",
    "RuleDocument",
    "RuleLoadError",
    "RuleParams",
    "RuleSource",
    "TimingError",
    "UuidSource",
    "default_rule_uuid",
    "empty_window",
    "format_duration",
    "iso",
    "load_rule_file",
    "load_rules",
    "parse_duration",
]
