"""Reading the YAML: plain data with the position of every key and value, and `${VAR}` replaced.

The file is read with PyYAML's node API rather than `safe_load`, so that each key and value keeps its start mark:
a validation error is then reported at the line:column of what is wrong (`position()`), and a YAML problem at its
own. Duplicate keys are errors (PyYAML keeps the last silently), `<<` merges work as in YAML 1.1, a recursive alias
is refused, and a date stays text.

Interpolation replaces `${VAR}` / `${VAR:-default}` in string values from the environment (`$$` is a literal `$`):
it applies to values only, never keys; a default is literal text (no nested `${...}`); a `$` not followed by `{` or
`$` is kept as is, so passwords with a `$` need no escaping unless a `{` follows. A value whose interpolation fails
is "tainted": its problem is reported once, and the validation errors it causes are not.

No message quotes a line of the file: the line may hold a secret.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from runner.errors import SourceLocation
from runner.problems import KeyPath, dotted
from runner.settings.errors import SettingsError, SettingsProblem

_STR_TAG = "tag:yaml.org,2002:str"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_REFERENCE = re.compile(r"\$\$|\$\{([^{}]*)\}|\$\{")
_VARIABLE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$", re.DOTALL)


class YamlReader:
    """YAML text → plain data, with the start mark of every key and value by key path, and interpolation done.
    `sections`: the top-level keys, named when the top level is not a mapping."""

    def __init__(self, text: str, file: str, env: Mapping[str, str], sections: Sequence[str]) -> None:
        self.text = text
        self.file = file
        self.env = env
        self.sections = list(sections)
        self.keys: dict[KeyPath, Mark] = {}
        self.values: dict[KeyPath, Mark] = {}
        self.problems: list[SettingsProblem] = []
        self.tainted: set[KeyPath] = set()  # values whose interpolation failed: their validation errors are noise
        self.containers: set[KeyPath] = set()  # mappings and lists: their key, not their first item, locates them
        self.loader: yaml.SafeLoader | None = None

    def read(self) -> dict[str, Any]:
        """The top-level mapping; raises `SettingsError` when the YAML does not parse or is not a mapping."""
        try:
            self.loader = yaml.SafeLoader(self.text)  # the reader checks for unprintable characters right away
            root = self.loader.get_single_node()
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            # the message is built from the parts, not str(err): that one quotes the offending line, maybe a secret
            message = f"invalid YAML: {err.problem or 'cannot parse'}"
            if err.context:
                message += f" ({err.context})"
            raise SettingsError([self.problem(mark, (), message)]) from None
        except yaml.reader.ReaderError as err:
            line = self.text.count("\n", 0, err.position) + 1
            column = err.position - (self.text.rfind("\n", 0, err.position) + 1) + 1
            character = f"#x{err.character:04x}" if isinstance(err.character, int) else repr(err.character)
            message = f"invalid YAML: unacceptable character {character}: {err.reason}"
            problem = SettingsProblem(SourceLocation(line, column, self.file), message)
            raise SettingsError([problem]) from None
        except yaml.YAMLError as err:
            raise SettingsError([SettingsProblem(SourceLocation(1, 1, self.file), f"invalid YAML: {err}")]) from None
        finally:
            if self.loader is not None:
                self.loader.dispose()
        if root is None or (isinstance(root, ScalarNode) and root.tag == "tag:yaml.org,2002:null"):
            return {}  # an empty (or all-comments) file: the defaults
        if not isinstance(root, MappingNode):
            message = f"the top level must be a mapping of sections ({', '.join(self.sections)})"
            raise SettingsError([self.problem(root.start_mark, (), message)])
        data = self.node(root, (), ())
        assert isinstance(data, dict)
        return data

    def problem(self, mark: Mark | None, path: KeyPath, message: str) -> SettingsProblem:
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        return SettingsProblem(SourceLocation(line, column, self.file, dotted(path) or None), message)

    def node(self, node: Node, path: KeyPath, stack: tuple[int, ...]) -> Any:
        self.values[path] = node.start_mark
        if id(node) in stack:
            self.problems.append(self.problem(node.start_mark, path, "a recursive alias cannot be a setting"))
            self.tainted.add(path)
            return None
        stack = (*stack, id(node))
        if isinstance(node, (MappingNode, SequenceNode)):
            self.containers.add(path)
        if isinstance(node, MappingNode):
            return self.mapping(node, path, stack)
        if isinstance(node, SequenceNode):
            return [self.node(item, (*path, index), stack) for index, item in enumerate(node.value)]
        if node.tag == _STR_TAG:
            return self.interpolate(node.value, node.start_mark, path)
        if node.tag == _TIMESTAMP_TAG:
            return node.value  # a date is only ever text here (an ISO `from`), never a datetime
        assert self.loader is not None
        try:
            return self.loader.construct_object(node)
        except yaml.YAMLError:
            self.problems.append(self.problem(node.start_mark, path, f"unsupported YAML tag {node.tag}"))
            self.tainted.add(path)
            return None

    def mapping(self, node: MappingNode, path: KeyPath, stack: tuple[int, ...]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        own: dict[str, Mark] = {}
        merged: list[tuple[Node, Node]] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.extend(self.merge_sources(value_node, path, stack))
                continue
            key = self.key(key_node, path)
            if key is None:
                continue
            if key in own:
                first = own[key]
                message = f'duplicate key "{key}" (first at line {first.line + 1}:{first.column + 1})'
                self.problems.append(self.problem(key_node.start_mark, (*path, key), message))
                continue
            own[key] = key_node.start_mark
            self.keys[(*path, key)] = key_node.start_mark
            result[key] = self.node(value_node, (*path, key), stack)
        # `<<: *anchor` merges keys the mapping does not set itself; among merged mappings the first one wins
        for key_node, value_node in merged:
            key = self.key(key_node, path)
            if key is None or key in result:
                continue
            self.keys[(*path, key)] = key_node.start_mark
            result[key] = self.node(value_node, (*path, key), stack)
        return result

    def merge_sources(self, node: Node, path: KeyPath, stack: tuple[int, ...]) -> list[tuple[Node, Node]]:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        pairs: list[tuple[Node, Node]] = []
        for source in sources:
            if not isinstance(source, MappingNode) or id(source) in stack:
                message = "<< must merge a mapping or a list of mappings"
                if id(source) in stack:
                    message = "<< cannot merge a mapping into itself"
                self.problems.append(self.problem(source.start_mark, path, message))
                continue
            own = [(k, v) for k, v in source.value if k.tag != _MERGE_TAG]
            nested = [pair for k, v in source.value if k.tag == _MERGE_TAG
                      for pair in self.merge_sources(v, path, (*stack, id(source)))]
            pairs.extend(own + nested)
        return pairs

    def key(self, node: Node, path: KeyPath) -> str | None:
        if isinstance(node, ScalarNode):
            return str(node.value)  # keys are names: `true:` or `123:` stay text
        self.problems.append(self.problem(node.start_mark, path, "a key must be plain text, not a list or mapping"))
        return None

    def interpolate(self, text: str, mark: Mark, path: KeyPath) -> str:
        ok = True

        def replace(match: re.Match[str]) -> str:
            nonlocal ok
            token = match.group(0)
            if token == "$$":
                return "$"
            inner = match.group(1)
            reference = _VARIABLE.match(inner) if inner is not None else None
            if reference is None:
                shown = token if inner is None else f"${{{inner}}}"
                self.problems.append(self.problem(mark, path, (
                    f"cannot read {shown}: write ${{NAME}} or ${{NAME:-default}} (no nesting), and $$ for a literal $"
                )))
                ok = False
                return token
            name, default = reference.group(1), reference.group(2)
            value = self.env.get(name)
            if default is not None:
                return value if value else default  # `:-` as in the shell: unset or empty takes the default
            if value is None:
                self.problems.append(self.problem(mark, path, f"environment variable {name} is not set"))
                ok = False
                return token
            return value

        result = _REFERENCE.sub(replace, text)
        if not ok:
            self.tainted.add(path)
        return result

    def tainted_at(self, path: KeyPath) -> bool:
        """Whether the value at `path` (or around it) failed interpolation: its problem is reported already."""
        return any(path[: len(bad)] == bad for bad in self.tainted)

    def position(self, loc: KeyPath, kind: str) -> tuple[int, int]:
        """Where a validation error of type `kind` goes (line, column): the key for unknown or missing keys, else
        the value, else an ancestor."""
        mark: Mark | None = None
        if kind == "extra_forbidden":
            mark = self.keys.get(loc)
        elif kind == "missing":
            loc_parent = loc[:-1]
            mark = self.keys.get(loc_parent) or self.values.get(loc_parent)
        else:
            mark = self.values.get(loc)
        for end in range(len(loc), -1, -1):
            if mark is not None:
                break
            ancestor = loc[:end]
            if ancestor in self.containers:
                mark = self.keys.get(ancestor) or self.values.get(ancestor)
            else:
                mark = self.values.get(ancestor) or self.keys.get(ancestor)
        return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


__all__ = ["YamlReader"]
