"""The fields a cluster's indices have, from `_field_caps`: the raw answer a query rule's field list is read from
(`field_caps`, sent as Kibana's data views send it), and the mappings EQL verification reads (`validate --backend`).

`field_caps` is Kibana's `callFieldCapsApi` (src/platform/plugins/shared/data_views/server/fetcher/lib/es_api.ts @
012f5d98) as the detection engine's query-rule translation sends it (`getQueryFilterLoadFields` → a lazy data view
→ `getFieldsForWildcard`): the fields the query names, `ignore_unavailable=true`, `expand_wildcards=open`,
`include_empty_fields=true`, no `include_unmapped`, no types or runtime mappings. `allow_no_indices=true` where that
path sends false: with false, Elasticsearch fails the whole request when any one pattern matches nothing, while a
rule with one existing and one missing pattern runs in Kibana (kibana#180865); with true, a pattern matching
nothing contributes no field, which is what Kibana does wherever it succeeds. An index that is closed or blocked
(`index_closed_exception`, `cluster_block_exception`) answers an empty field list, as Kibana returns
`{indices: [], fields: {}}` for it.

`GET /<patterns>/_field_caps?fields=*` answers `{"indices": [...], "fields": {name: {type: caps}}}`; a type's caps
list its `indices` only when the field has several types across them, otherwise every index of the answer has it.
Each index's fields are rebuilt into a mapping body (objects as `properties`, a field under a leaf field as one of its
multi-`fields`, so that a `text` field finds its `keyword` sub-field); indices with the same fields share one
`IndexMapping`. Metadata fields (`_id`, `_index`, ...) and unmapped entries are left out.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from collections.abc import Sequence
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch

from runner.backends.elasticsearch.errors import classify, error_cause
from runner.eql import OBJECT_TYPES, IndexMapping

# the errors Kibana's callFieldCapsApi answers with an empty field list ("return an empty set for closed indices"),
# when they are the index's state (4xx); a block the cluster raises while it recovers or has no master is a 503,
# which is worth trying again: taken for "no index", it would mark a window searched that was not
_EMPTY_ON = ("index_closed_exception", "cluster_block_exception")


def field_caps(client: Elasticsearch, index: Sequence[str], fields: Sequence[str], *,
               include_unmapped: bool = False) -> dict[str, Any]:
    """The `_field_caps` response body for `fields` of the indices `index` resolves to (see the module docstring);
    `include_unmapped=true` sent only when asked."""
    options: dict[str, Any] = {"include_unmapped": True} if include_unmapped else {}
    try:
        body: dict[str, Any] = client.field_caps(index=list(index), fields=list(fields), ignore_unavailable=True,
                                                 expand_wildcards="open", include_empty_fields=True,
                                                 allow_no_indices=True, **options).body
    except (ApiError, TransportError) as error:
        if (isinstance(error, ApiError) and error.meta.status < 500
                and error_cause(error.body)[0] in _EMPTY_ON):
            return {"indices": [], "fields": {}}
        raise classify(error, f"reading the fields of {list(index)} (_field_caps)") from None
    return body


def index_mappings(client: Elasticsearch, patterns: Sequence[str]) -> dict[str, IndexMapping]:
    """The mapping of every index `patterns` resolve to (none: no index matches them)."""
    try:
        body = client.field_caps(index=list(patterns), fields="*", allow_no_indices=True,
                                 ignore_unavailable=True).body
    except (ApiError, TransportError) as error:
        raise classify(error, f"reading the fields of {list(patterns)} (_field_caps)") from None
    return mappings_from_field_caps(body)


def mappings_from_field_caps(body: AbcMapping[str, Any]) -> dict[str, IndexMapping]:
    """Index name → `IndexMapping`, from a `_field_caps` response body."""
    indices = [str(index) for index in body.get("indices") or []]
    fields: dict[str, dict[str, str]] = {index: {} for index in indices}
    for name, by_type in (body.get("fields") or {}).items():
        if not isinstance(by_type, AbcMapping):
            continue
        for es_type, caps in by_type.items():
            caps = caps if isinstance(caps, AbcMapping) else {}
            if es_type == "unmapped" or caps.get("metadata_field") or name.startswith("_"):
                continue
            for index in caps.get("indices") or indices:
                fields.setdefault(str(index), {})[name] = str(es_type)
    shared: dict[tuple[tuple[str, str], ...], IndexMapping] = {}
    result: dict[str, IndexMapping] = {}
    for index, types in fields.items():
        key = tuple(sorted(types.items()))
        if key not in shared:
            shared[key] = IndexMapping.from_body(_mapping_body(types))
        result[index] = shared[key]
    return result


def _mapping_body(types: AbcMapping[str, str]) -> dict[str, Any]:
    """`{"properties": ...}` for dotted field names and their types."""
    root: dict[str, Any] = {}
    specs: dict[str, dict[str, Any]] = {}

    def children(path: str) -> dict[str, Any]:
        """The `properties` of the object at `path` (made on the way when `_field_caps` did not list it)."""
        if not path:
            top: dict[str, Any] = root.setdefault("properties", {})
            return top
        if path not in specs:
            parent, _, leaf = path.rpartition(".")
            specs[path] = children(parent).setdefault(leaf, {})
        below: dict[str, Any] = specs[path].setdefault("properties", {})
        return below

    for name in sorted(types, key=lambda n: (n.count("."), n)):  # parents before their children
        es_type = types[name]
        parent, _, leaf = name.rpartition(".")
        above = specs.get(parent)
        if above is not None and "type" in above and above["type"] not in OBJECT_TYPES:
            above.setdefault("fields", {})[leaf] = {"type": es_type}  # a multi-field: `process.name.text`
            continue
        spec = children(parent).setdefault(leaf, {})
        if es_type != "object":  # an object is a spec without a type (and with properties once it has children)
            spec["type"] = es_type
        specs[name] = spec
    return root


__all__ = ["field_caps", "index_mappings", "mappings_from_field_caps"]
