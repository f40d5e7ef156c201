"""The `kibana.alert.reason` sentence (spec §3.4, Kibana `reason_formatters.ts: buildReasonMessageUtil`).

`[<category> ]event[ with][ process P,][ parent process PP,][ file F,][ source IP][:PORT,][ destination IP][:PORT,]
[ by USER][ on HOST] created <severity> alert <rule name>.`
"""

from __future__ import annotations

from typing import Any, Mapping

from runner.alerts.paths import js_join, lodash_get

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


def _template_value(value: Any) -> str | None:
    """`getFieldTemplateValue`: arrays joined with ", "; absent, empty and `-` (or `['-']`) give nothing.

    Kibana tests `field.length`, which a JavaScript number or boolean does not have: a bare numeric `source.port`
    therefore never shows in the sentence (only `[443]` does). Reproduced as is.
    """
    if isinstance(value, list):
        if not value or (len(value) == 1 and value[0] == "-"):
            return None
        return js_join(value, ", ")
    if isinstance(value, str):
        return None if value in ("", "-") else value
    return None


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
    document = fields if not source else source
    values = {key: _template_value(lodash_get(document, path, None)) for key, path in _FIELDS.items()}
    with_ = any(values[key] is not None for key in _OF_INTEREST)
    text = ""
    if _present(values["event_category"]):
        text += f"{values['event_category']} "
    text += "event"
    if with_:
        text += " with"
    if _present(values["process_name"]):
        text += f" process {values['process_name']},"
    if _present(values["process_parent_name"]):
        text += f" parent process {values['process_parent_name']},"
    if _present(values["file_name"]):
        text += f" file {values['file_name']},"
    if _present(values["source_address"]):
        text += f" source {values['source_address']}"
    if _present(values["source_port"]):
        text += f":{values['source_port']},"
    if _present(values["destination_address"]):
        text += f" destination {values['destination_address']}"
    if _present(values["destination_port"]):
        text += f":{values['destination_port']},"
    if _present(values["user_name"]):
        text += f" by {values['user_name']}"
    if _present(values["host_name"]):
        text += f" on {values['host_name']}"
    return f"{text} created {severity} alert {name}."


__all__ = ["build_reason"]
