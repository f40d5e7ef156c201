"""The `kibana.alert.reason` sentence (kibana-eql-execution.md §3.4, Kibana `reason_formatters.ts: buildReasonMessageUtil`).

`[<category> ]event[ with][ process P,][ parent process PP,][ file F,][ source IP][:PORT,][ destination IP][:PORT,]
[ by USER][ on HOST] created <severity> alert <rule name>.`
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.alerts.paths import MISSING, js_join

# template value -> the field it is read from
_FIELDS = {
    "destination_address": "destination.ip",
    "destination_port": "destination.port",
    "event_category": "event.category",
    "file_name": "file.name",
    "host_name": "host.name",
    "process_name": "process.name",
    "process_parent_name": "process.parent.name",
    "source_address": "source.ip",
    "source_port": "source.port",
    "user_name": "user.name",
}
# the values that bring in " with"
_OF_INTEREST = frozenset({
    "destination_address", "destination_port", "file_name", "process_name", "process_parent_name", "source_address",
    "source_port",
})


_PATHS = [(key, path, path.split(".")) for key, path in _FIELDS.items()]


def _values(document: dict[str, Any]) -> dict[str, str | None]:
    """The template value of every field: `_template_value(lodash_get(document, path, None))`, inlined (this runs
    for every alert). No segment of these paths reads as an array index, so an array on the way ends the walk."""
    values: dict[str, str | None] = {}
    get = document.get
    for key, path, parts in _PATHS:
        value = get(path, MISSING)  # a key spelt as the whole path wins
        if value is MISSING:
            value = document
            for part in parts:
                value = value.get(part) if isinstance(value, dict) else None
        if type(value) is str:
            values[key] = None if value == "" or value == "-" else value
        else:
            values[key] = None if value is None else _template_value(value)
    return values


def _template_value(value: Any) -> str | None:
    """`getFieldTemplateValue`: arrays joined with ", "; absent, empty and `-` (or `['-']`) give nothing.

    Kibana tests `field.length`, which a JavaScript number or boolean does not have: a bare numeric `source.port`
    therefore never shows in the sentence (only `[443]` does). Reproduced as is.
    """
    if isinstance(value, str):
        return None if value in ("", "-") else value
    if isinstance(value, list):
        if not value or (len(value) == 1 and value[0] == "-"):
            return None
        try:
            return ", ".join(value)  # strings: what `js_join` gives them
        except TypeError:
            return js_join(value, ", ")
    return None


# after the category and " with", in this order
_SENTENCE = (
    ("process_name", " process {},"),
    ("process_parent_name", " parent process {},"),
    ("file_name", " file {},"),
    ("source_address", " source {}"),
    ("source_port", ":{},"),
    ("destination_address", " destination {}"),
    ("destination_port", ":{},"),
    ("user_name", " by {}"),
    ("host_name", " on {}"),
)


def _present(value: str | None) -> bool:
    # ICU `select` looks the value up among the cases, so a field whose text is literally "null" takes the `null {}`
    # case and prints nothing (while still having switched " with" on)
    return value is not None and value != "null"


def build_reason(
    name: str, severity: str, source: Mapping[str, Any] | None, fields: Mapping[str, Any] | None = None
) -> str:
    """The reason for one document: read from `source` (nested or dotted keys), or from `fields` when it is empty.

    For a sequence shell, `source` is the intersection of the building blocks (None when they share nothing).
    """
    document = source if source else fields
    values = _values(document) if isinstance(document, dict) else dict.fromkeys(_FIELDS)
    text = [f"{values['event_category']} event" if _present(values["event_category"]) else "event"]
    if any(values[key] is not None for key in _OF_INTEREST):
        text.append(" with")
    for key, template in _SENTENCE:
        value = values[key]
        if value is not None and value != "null":  # `_present`
            text.append(template.format(value))
    text.append(f" created {severity} alert {name}.")
    return "".join(text)


__all__ = ["build_reason"]
