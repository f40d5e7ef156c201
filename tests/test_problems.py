"""The one translation of pydantic's errors into located problems, shared by the settings and the rule loaders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from runner.errors import RuleRunnerError, SourceLocation
from runner.problems import FileProblem, KeyPath, KeyProblems, dotted, pydantic_message, validation_problems


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")

    port: int


class Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_: str = Field(alias="from")
    inner: list[Inner]
    user: str | None = None
    password: str | None = None

    @model_validator(mode="after")
    def _pair(self) -> Outer:
        if (self.user is None) != (self.password is None):
            raise KeyProblems([("user", "a user needs a password"), ("password", "a password needs a user")])
        return self


def errors(data: dict[str, Any]) -> list[Any]:
    with pytest.raises(ValidationError) as caught:
        Outer.model_validate(data)
    return caught.value.errors(include_url=False)


def word(item: Mapping[str, Any], path: KeyPath) -> str:
    return f"{item['type']} at {dotted(path)}"


def test_dotted_spells_key_paths_as_written() -> None:
    assert dotted(("rule", "threat", 2, "tactic", "id")) == "rule.threat[2].tactic.id"
    assert dotted((0, "a")) == "[0].a"
    assert dotted(()) == ""


def test_each_error_is_placed_and_worded_by_the_loader() -> None:
    seen: list[tuple[KeyPath, str]] = []

    def position(path: KeyPath, kind: str) -> tuple[int, int]:
        seen.append((path, kind))
        return len(path), 7

    found = validation_problems(errors({"inner": [{"port": 1}, {"port": "x", "extra": 1}]}), "f.yaml",
                                position=position, word=word)
    assert [str(problem) for problem in found] == [
        "f.yaml: from, line 1:7: missing at from",
        "f.yaml: inner[1].port, line 3:7: int_parsing at inner[1].port",
        "f.yaml: inner[1].extra, line 3:7: extra_forbidden at inner[1].extra",
    ]
    assert seen == [(("from",), "missing"), (("inner", 1, "port"), "int_parsing"), (("inner", 1, "extra"), "extra_forbidden")]


def test_field_names_are_renamed_to_the_keys_of_the_file() -> None:
    class Model(BaseModel):
        model_config = ConfigDict(populate_by_name=True)

        from_: int = Field(alias="from")

    with pytest.raises(ValidationError) as caught:
        Model.model_validate({"from_": "x"})
    assert caught.value.errors()[0]["loc"] == ("from_",)
    found = validation_problems(caught.value.errors(), "r.toml", position=lambda _p, _k: (4, 1), word=word,
                                rename={"from_": "from"})
    assert [problem.location for problem in found] == [SourceLocation(4, 1, "r.toml", "from")]


def test_key_problems_are_reported_at_each_key_and_skip_leaves_some_out() -> None:
    items = errors({"from": "now", "inner": [], "user": "u"})
    found = validation_problems(items, "f.yaml", position=lambda path, kind: (1, 1), word=word)
    assert [(problem.location.key if problem.location else None, problem.message) for problem in found] == [
        ("user", "a user needs a password"),
        ("password", "a password needs a user"),
    ]
    kinds: list[str] = []

    def position(path: KeyPath, kind: str) -> tuple[int, int]:
        kinds.append(kind)
        return 1, 1

    validation_problems(items, "f.yaml", position=position, word=word)
    assert kinds == ["value_error", "value_error"]
    kept = validation_problems(items, "f.yaml", position=lambda path, kind: (1, 1), word=word,
                               skip=lambda path, kind: path == ("user",))
    assert [problem.message for problem in kept] == ["a password needs a user"]


def test_the_default_wording() -> None:
    items = errors({"from": "now", "inner": [{"port": "x"}]}) + errors({"from": "now", "inner": [], "user": "u"})
    assert [pydantic_message(item) for item in items] == [
        "input should be a valid integer, unable to parse string as an integer",
        "a user needs a password; a password needs a user",
    ]


def test_a_problem_without_a_place_is_its_message() -> None:
    assert str(FileProblem(None, "config file not found: x")) == "config file not found: x"
    assert str(FileProblem(SourceLocation(2, 3, "f", "a.b"), "bad")) == "f: a.b, line 2:3: bad"


def test_key_problems_is_ours_and_a_value_error_for_pydantic() -> None:
    assert issubclass(KeyProblems, RuleRunnerError) and issubclass(KeyProblems, ValueError)
