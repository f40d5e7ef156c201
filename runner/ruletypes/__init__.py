"""The rule types rule-runner runs, one module each (see `base` for what a type owns): `eql` and `query`.

`kind_of(rule)` is the rule's type, `unsupported(rule)` why a loaded rule cannot run (its type is not one of these,
or the type refuses it: a Lucene query rule), `prepare(rule, fields)` its search for one execution.
"""

from runner.catalog import Rule as _Rule
from runner.ruletypes.base import FieldSource, Request, ResultKey, RuleKind, RuleSearch, Searcher
from runner.ruletypes.eql import EqlKind
from runner.ruletypes.query import QueryKind

# every type that runs, by `type`: adding one is adding its module and its line here
TYPES: dict[str, RuleKind] = {kind.type: kind for kind in (EqlKind(), QueryKind())}


def kind_of(rule: _Rule) -> RuleKind | None:
    """The rule's type, when rule-runner runs it."""
    return TYPES.get(rule.type)


def unsupported(rule: _Rule) -> str | None:
    """Why the rule cannot run (None: it can): a type not run yet, or what its type says."""
    kind = TYPES.get(rule.type)
    if kind is None:
        return f"{rule.type} rules are not supported yet"
    return kind.unsupported(rule)


def runnable(rule: _Rule) -> bool:
    return unsupported(rule) is None


def prepare(rule: _Rule, fields: FieldSource | None = None) -> RuleSearch:
    """The rule's search for one execution (`fields`: where its type reads the fields of its indices; None: no
    field information). A rule that cannot run is a `ValueError`."""
    kind = TYPES.get(rule.type)
    reason = unsupported(rule)
    if kind is None or reason is not None:
        raise ValueError(f"rule {rule.rule_id}: {reason}")
    return kind.prepare(rule, fields)


__all__ = [
    "EqlKind",
    "FieldSource",
    "QueryKind",
    "Request",
    "ResultKey",
    "RuleKind",
    "RuleSearch",
    "Searcher",
    "TYPES",
    "kind_of",
    "prepare",
    "runnable",
    "unsupported",
]
