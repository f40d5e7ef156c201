"""Loading rules from files and directories.

A loader run never stops at the first problem: every file is read, every bad one becomes a `RuleLoadError` naming
the file, the line and the field, and the good ones are returned. A rule's query is parsed by its language (EQL,
KQL: `QUERY_LANGUAGES`), so a bad query is reported at load time, with its position in the file, rather than at the
first execution; a language we do not parse (Lucene, ES|QL) is kept as text. Whether a rule of a loaded type runs
is not the catalog's decision but its rule type's (`runner.ruletypes`): the catalog knows the TOML format of every
type, the rule types know how to run theirs.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from runner.catalog.locate import locate
from runner.catalog.model import RuleDocument, RuleParams, default_rule_uuid
from runner.catalog.source import INTERNAL, RuleSource
from runner.catalog.timing import DateMath, parse_duration
from runner.eql import EqlError, Query
from runner.eql import parse as parse_eql
from runner.errors import RuleRunnerError, SourceLocation
from runner.kql import KqlSyntaxError
from runner.kql import nodes as kql_nodes
from runner.kql import parse as parse_kql
from runner.problems import KeyPath, pydantic_message, validation_problems

# a parsed query: an EQL query or a KQL syntax tree (by the rule's language)
ParsedQuery = Query | kql_nodes.Node
# the query languages the loader parses, each with its parser and the name its errors are worded with
QUERY_LANGUAGES: dict[str, tuple[str, Callable[[str], ParsedQuery]]] = {
    "eql": ("EQL", parse_eql),
    "kuery": ("KQL", parse_kql),
}
_QUERY_OPENING = re.compile(r"\s*query\s*=\s*('''|\"\"\"|'|\")")


class RuleLoadError(RuleRunnerError):
    """A rule file that cannot be used: where (file, line, column, field) and why."""

    def __init__(self, location: SourceLocation, message: str) -> None:
        self.location = location
        self.message = message
        super().__init__(f"{location}: {message}")


class UuidSource(StrEnum):
    """Where a rule's uuid comes from, in order of precedence (the first that applies wins)."""

    OVERRIDE = "override"  # rules.overrides.<rule_id>.uuid
    KIBANA = "kibana"  # the id of the rule installed in Kibana with the same rule_id
    DEFAULT = "default"  # a uuid5 of the rule_id: stable, but the id of no Kibana rule

    def describe(self) -> str:
        return {"override": "set in rules.overrides", "kibana": "the rule installed in Kibana with this rule_id",
                "default": "default: a uuid5 of the rule_id"}[self.value]


@dataclass(frozen=True)
class Rule:
    """A loaded rule: its document, its parsed query (by its language: `QUERY_LANGUAGES`; None for a language the
    loader does not parse) and the values settings may override."""

    path: Path
    document: RuleDocument
    query: ParsedQuery | None
    uuid: str  # Kibana's rule saved-object id: alert ids hash it, the Security app links alerts to rules by it
    uuid_source: UuidSource = UuidSource.DEFAULT
    rule_source: RuleSource = INTERNAL  # where Kibana would say the rule comes from (a custom rule by default)

    @property
    def params(self) -> RuleParams:
        return self.document.rule

    def parameters(self) -> dict[str, Any]:
        """The rule's parameters as Kibana writes them into alerts (`kibana.alert.rule.parameters`): the document's,
        then `immutable` and `rule_source`."""
        return {**self.document.rule.parameters(), **self.rule_source.parameters()}

    @property
    def rule_id(self) -> str:
        return self.document.rule.rule_id

    @property
    def name(self) -> str:
        return self.document.rule.name

    @property
    def type(self) -> str:
        return self.document.rule.type

    @property
    def language(self) -> str | None:
        """The query's language, Kibana's default for the type when the file names none."""
        return self.document.rule.query_language

    @property
    def enabled(self) -> bool:
        return self.document.rule.enabled

    def with_overrides(
        self,
        *,
        index: Sequence[str] | None = None,
        interval: str | None = None,
        from_: str | None = None,
        enabled: bool | None = None,
        uuid: str | None = None,
        max_signals: int | None = None,
    ) -> Rule:
        """The rule with settings' overrides applied (each already validated by its caller; checked again here)."""
        update: dict[str, Any] = {}
        if max_signals is not None:
            if isinstance(max_signals, bool) or not isinstance(max_signals, int) or max_signals < 1:
                raise ValueError(f"max_signals must be an integer >= 1, not {max_signals!r}")
            update["max_signals"] = max_signals
        if index is not None:
            update["index"] = list(index)
        if interval is not None:
            parse_duration(interval)
            update["interval"] = interval
        if from_ is not None:
            DateMath.parse(from_)
            update["from_"] = from_
        if enabled is not None:
            update["enabled"] = enabled
        params = self.document.rule.model_copy(update=update) if update else self.document.rule
        document = self.document.model_copy(update={"rule": params}) if update else self.document
        if uuid:
            return replace(self, document=document, uuid=uuid, uuid_source=UuidSource.OVERRIDE)
        return replace(self, document=document)


@dataclass
class Catalog:
    """The outcome of loading: every rule that loaded, and every problem, in path order."""

    rules: list[Rule] = field(default_factory=list)
    errors: list[RuleLoadError] = field(default_factory=list)
    files: int = 0

    def get(self, rule_id: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.rule_id == rule_id), None)


def load_rules(paths: Iterable[str | Path]) -> Catalog:
    """Every `*.toml` under the given files and directories (recursively), in path order."""
    catalog = Catalog()
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.toml") if p.is_file())
            if not found:
                catalog.errors.append(RuleLoadError(SourceLocation(1, 1, str(path)), "no rule files (*.toml) in this directory"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            catalog.errors.append(RuleLoadError(SourceLocation(1, 1, str(path)), "no such file or directory"))
    seen: dict[str, Path] = {}
    for path in dict.fromkeys(files):  # a file named twice is read once
        catalog.files += 1
        try:
            rule = load_rule_file(path)
        except RuleLoadError as err:
            catalog.errors.append(err)
            continue
        if rule.rule_id in seen:
            text = path.read_text(encoding="utf-8")
            line, column = locate(text, ("rule", "rule_id"))
            catalog.errors.append(RuleLoadError(
                SourceLocation(line, column, str(path), "rule.rule_id"),
                f"duplicate rule_id {rule.rule_id}: already defined in {seen[rule.rule_id]}",
            ))
            continue
        seen[rule.rule_id] = path
        catalog.rules.append(rule)
    return catalog


def load_rule_file(path: str | Path) -> Rule:
    """One rule file; `RuleLoadError` names the first problem's file, line and field (with every problem listed)."""
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RuleLoadError(SourceLocation(1, 1, where), f"cannot read the file: {err}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        line, column = _toml_position(str(err))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(err)) or "invalid TOML"
        raise RuleLoadError(SourceLocation(line, column, where), f"invalid TOML: {message}") from None
    try:
        document = RuleDocument.model_validate(raw)
    except ValidationError as err:
        raise _validation_error(err, text, where) from None
    query = None
    language = document.rule.query_language
    if language in QUERY_LANGUAGES and document.rule.query is not None:
        query = _parse_query(language, document.rule.query, text, where)
    return Rule(path=path, document=document, query=query, uuid=default_rule_uuid(document.rule.rule_id))


def _toml_position(message: str) -> tuple[int, int]:
    match = re.search(r"at line (\d+), column (\d+)", message)
    return (int(match.group(1)), int(match.group(2))) if match else (1, 1)


def _validation_error(err: ValidationError, text: str, where: str) -> RuleLoadError:
    problems = validation_problems(
        err.errors(include_url=False, include_input=False),
        where,
        position=lambda path, _kind: locate(text, path),
        word=_message,
        rename={"from_": "from"},
    )
    first = problems[0]
    assert first.location is not None  # every validation problem has its place
    message = first.message + "".join(f"\n  {problem}" for problem in problems[1:])
    return RuleLoadError(first.location, message)


def _message(item: Mapping[str, Any], _path: KeyPath) -> str:
    kind = item["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind in ("literal_error", "enum"):
        expected = (item.get("ctx") or {}).get("expected", "")
        return f"must be one of {expected}"
    return pydantic_message(item)


def _parse_query(language: str, query: str, text: str, where: str) -> ParsedQuery:
    title, parse = QUERY_LANGUAGES[language]
    try:
        return parse(query)
    except (EqlError, KqlSyntaxError) as err:
        line, column = locate(text, ("rule", "query"))
        # the EQL line 1 is on the key's line, or on the next one when the string opens with a newline
        key_line = text.splitlines()[line - 1] if line <= len(text.splitlines()) else ""
        opening = _QUERY_OPENING.match(key_line)
        starts_on_next = opening is not None and len(opening.group(1)) == 3 and not key_line[opening.end():].strip()
        file_line = line + err.line - (0 if starts_on_next else 1)
        shift = opening.end() if opening is not None and not starts_on_next and err.line == 1 else 0
        column = err.column + shift
        raise RuleLoadError(SourceLocation(file_line, column, where, "rule.query"), f"{title} query {err}") from None


__all__ = ["QUERY_LANGUAGES", "Catalog", "ParsedQuery", "Rule", "RuleLoadError", "UuidSource", "load_rule_file", "load_rules"]
