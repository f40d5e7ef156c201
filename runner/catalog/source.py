"""Where a rule comes from, as Kibana records it: the `rule_source` and `immutable` rule parameters.

Kibana (8.16 and later) keeps both in every rule's parameters, and so in every alert's `kibana.alert.rule.parameters`
(and `immutable` again as `kibana.alert.rule.immutable`):

- `{"type": "internal"}`, `immutable: false`: a custom rule, created or imported in Kibana;
- `{"type": "external", "is_customized": ...}`, `immutable: true`: an Elastic prebuilt rule installed from the
  prebuilt-rules package, customized or not (9.2 adds `customized_fields` and `has_base_version`).

`immutable` follows the type (`immutable: ruleSource.type === 'external'` in Kibana). A rule-runner rule is a file the
user manages, even when copied from Elastic's repository: Kibana would call it a custom rule, so that is the default.
A rule linked to one installed in Kibana would take that rule's values instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class RuleSource:
    """A rule's `rule_source`; `immutable` derives from it."""

    type: Literal["internal", "external"] = "internal"
    is_customized: bool = False  # external rules only
    customized_fields: tuple[str, ...] | None = None  # external rules, when known (Kibana 9.2+)
    has_base_version: bool | None = None  # external rules, when known (Kibana 9.2+)

    def __post_init__(self) -> None:
        if self.type not in ("internal", "external"):
            raise ValueError(f"rule_source type must be 'internal' or 'external', not {self.type!r}")
        if self.type == "internal" and (self.is_customized or self.customized_fields is not None
                                        or self.has_base_version is not None):
            raise ValueError("an internal rule_source has no customization")

    @property
    def immutable(self) -> bool:
        return self.type == "external"

    def parameters(self) -> dict[str, Any]:
        """The `immutable` and `rule_source` parameters, as Kibana writes them into alerts (snake_case)."""
        source: dict[str, Any] = {"type": self.type}
        if self.type == "external":
            source["is_customized"] = self.is_customized
            if self.customized_fields is not None:
                source["customized_fields"] = [{"field_name": name} for name in self.customized_fields]
            if self.has_base_version is not None:
                source["has_base_version"] = self.has_base_version
        return {"immutable": self.immutable, "rule_source": source}


INTERNAL = RuleSource()

__all__ = ["INTERNAL", "RuleSource"]
