"""The fields a sequence's shell alert copies from its building blocks: `objectArrayIntersection` of the blocks, fast.

Fast path of `intersection.object_array_intersection` (the reference: the newest intersection, Kibana 9.4 on,
kibana#254830, step by step); checked against it on random blocks by
tests/alerts/test_fast_paths.py::test_sequence_common_is_the_reference_intersection (and by bench/alerts_golden.py).
Releases before 9.4 intersect key by key (`intersection_keywise.py`, used as it is: `AlertFormat.notation_intersection`
decides).

`intersection.object_array_intersection` is Kibana's algorithm step by step: flatten both documents to paths,
rebuild them as trees, walk the trees together, prune, flatten again. On building blocks (some 170 paths each, 95 of
them the rule's `kibana.*` fields) that costs milliseconds per sequence. This module computes the same document,
key order included, from what is known about blocks:

1. **Roots are independent.** Every step of the algorithm only ever combines paths that start with the same first
   segment (the *root*: `host` for `host.name` and for `{"host": {...}}`). The result is the union of per-root
   results, and its key order follows from two facts: the trees meet roots in the order their first leaf is emitted
   (leaf-valued keys in document order, then object-valued keys in reverse order), and the result lists the roots
   that end as leaves first, then the others in reverse. `_meet` computes each root apart and orders them so.
2. **Most roots are plain trees.** A root held by one key whose value is an object without dotted or index-like keys
   (`host`, `process`, ...), possibly beside two-segment dotted leaves (`event` with the alert's `event.kind`), is
   intersected by one recursive walk (`_tree_pair`) that reproduces the algorithm's orders directly. Any other root
   goes through the reference algorithm, restricted to that root (`_generic_root`).
3. **The `kibana` root is mostly the rule's.** Its ~95 paths per block are the alert fields, the same for every block
   of a call except a few (original time, depth, reason, id, ancestors) and the event's `kibana.alert.original_*`
   copies. Their values are intersected key by key (`_kibana_fold`); the *order* of the result, which depends only on
   which keys the blocks have and which survive each step, is computed once by the reference algorithm on stand-in
   values and cached (`_kibana_plan`).

The reference algorithm writes into arrays when a path segment reads as an array index (`a.0`); blocks with such keys,
documents that are not plain JSON, and rule fields whose paths overlap take the reference algorithm whole
(`object_array_intersection`), as do single-block sequences (the block is its own intersection).
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from runner.alerts.copying import compile_copier
from runner.alerts.intersection import (
    apply_notation_preference,
    leaf_intersection,
    normalised_intersection,
    object_array_intersection,
    object_pair_intersection,
)
from runner.alerts.layout import BLOCK_VARYING, ORIGINAL_TIME, CallPlan
from runner.alerts.paths import MISSING, is_index
from runner.alerts.source_fast import SourceNotes

KIBANA = "kibana"
_DIGITS = frozenset("0123456789")
_ORIGINAL_PREFIXES = ("kibana.alert.original_event", "kibana.alert.original_data_stream")
_PARAMETERS = "kibana.alert.rule.parameters"


@dataclass(eq=False)
class Block:
    """A building block, with what the intersection needs to know about it."""

    document: dict[str, Any]  # the block: the event's fields, then the alert fields, as Kibana intersects them
    varying: dict[str, Any]  # the `kibana.*` values that differ between blocks: `original_*` copies, per-alert fields
    original_keys: tuple[str, ...]  # the event's `kibana.alert.original_*` copies, in order
    has_original_time: bool
    reference_only: bool  # a document only the reference algorithm is known to intersect right
    roots: dict[str, View]  # every root but `kibana` (always there, see `_kibana_fold`), as the algorithm sees it
    # the roots met through a leaf-valued key, and through an object-valued key, in document order
    leaf_roots: list[str]
    object_roots: list[str]


# How a root of one document looks to the algorithm: (kind, x, y)
View = tuple[int, Any, Any]
_LEAF = 0  # (_LEAF, value, None): one key, the root itself, with a value that is not an object
_TREE = 1  # (_TREE, {x: value} of the `root.x` leaves, the object under `root` or None); the object is plain:
#            no dotted or index-like keys at any depth, and none of the x
_GENERIC = 2  # (_GENERIC, [(key, value)], None): anything else, left to the reference algorithm
_KIBANA = 3  # the alert's own `kibana.*` fields: see `_kibana_fold`

# alert fields outside `kibana.*`; the event may have them too (the alert's value then takes the event's place)
OUTER_FIELDS = ("@timestamp", "event.kind")


def describe_block(document: dict[str, Any], notes: SourceNotes | None, outer_in_event: frozenset[str],
                   alert_varying: dict[str, Any]) -> Block:
    """The `Block` of a block's document: its event's fields as `alert_source_copy` noted them (None: the event was
    not plain JSON), then the alert fields, of which `alert_varying` differ between blocks."""
    if notes is None:
        return Block(document, alert_varying, (), ORIGINAL_TIME in alert_varying, True, {}, [], [])
    unusual = notes.unusual
    roots: dict[str, View] = {}  # roots held by one key, the root itself (the usual)
    groups: dict[str, list[tuple[str, Any]]] = {}  # the other roots: their keys and values, in order
    dirty: set[str] = set()  # roots whose objects hold dotted or index-like keys
    leaf_roots: list[str] = []
    object_roots: list[str] = []
    index_like = False
    for key in notes.event_keys:
        value = document[key]
        dot = key.find(".")
        root = key if dot < 0 else key[:dot]
        if type(value) is dict:
            object_roots.append(root)
            note = unusual.get(key)
            if note:
                dirty.add(root)
                index_like = index_like or note == 2
                view: View = (_GENERIC, [(root, value)], None)
            else:
                view = (_TREE, _EMPTY, value)
        else:
            leaf_roots.append(root)
            view = (_LEAF, value, None)
        if dot < 0 and root not in groups:
            roots[root] = view
        else:
            index_like = index_like or (dot >= 0 and _INDEX_SEGMENT.search(key, dot) is not None)
            _add_to_group(root, key, value, document, roots, groups)
    if not index_like and not _plain_copies(notes):
        index_like = any(_INDEX_SEGMENT.search(key) for key in notes.originals) or _overlapping(notes.originals)
    for key in OUTER_FIELDS:
        if key not in outer_in_event:
            root = key.partition(".")[0]
            if key == root and root not in roots and root not in groups:
                roots[root] = (_LEAF, document[key], None)
            else:
                _add_to_group(root, key, document[key], document, roots, groups)
    for root, items in groups.items():
        roots[root] = _view(root, items, dirty)
    varying = {key: document[key] for key in notes.originals}
    varying.update(alert_varying)
    return Block(document, varying, tuple(notes.originals), ORIGINAL_TIME in alert_varying, index_like, roots,
                 leaf_roots, object_roots)


def _plain_copies(notes: SourceNotes) -> bool:
    """Whether the `original_*` copies are known not to overlap nor hold index-like segments: each namespace was
    copied from one undotted key (`event`, `data_stream`) holding a value or an object with plain keys, so its copies
    are the paths of one plain tree. (Copied keys may have been removed from the event since: `event.kind`.)"""
    copied = notes.copied
    return (len(copied) <= 2 and len(set(copied)) == len(copied) and all("." not in key for key in copied)
            and not any(key in notes.unusual for key in copied))


def _add_to_group(root: str, key: str, value: Any, document: dict[str, Any], roots: dict[str, View],
                  groups: dict[str, list[tuple[str, Any]]]) -> None:
    if root in roots:  # was held by its own key alone
        del roots[root]
        groups[root] = [(root, document[root]), (key, value)]
    elif root in groups:
        groups[root].append((key, value))
    else:
        groups[root] = [(key, value)]


# a dotted segment (not the first) that lodash reads as an array index: `is_index` on each part, in one search
_INDEX_SEGMENT = re.compile(r"\.(?:0|[1-9]\d*)\n?(?=\.|\Z)")


def _overlapping(keys: list[str]) -> bool:
    """Whether a key is a (dotted) prefix of another: such paths collide when the documents are rebuilt as trees."""
    present = set(keys)
    for key in keys:
        dot = key.find(".", len("kibana.alert.original_"))
        while dot != -1:
            if key[:dot] in present:
                return True
            dot = key.find(".", dot + 1)
    return False


def sequence_common(blocks: list[Block], plan: CallPlan) -> tuple[dict[str, Any] | None, bool]:
    """`object_array_intersection` of the blocks' documents, and whether it may hold objects of the blocks (or of the
    rule): then copy what is kept of it. Otherwise every object in it is its own."""
    if len(blocks) == 1:
        return blocks[0].document, True
    shape = _call_shape(plan)
    if shape is None or any(block.reference_only for block in blocks):
        return object_array_intersection([block.document for block in blocks]), True
    kibana = _kibana_fold(blocks, plan, shape)
    if kibana is None:
        return object_array_intersection([block.document for block in blocks]), True
    entries, kibana_leaf_at_step = kibana
    current = _block_roots(blocks[0], shape)
    met: list[tuple[str, int, list[tuple[str, Any]]]] = []
    for step, block in enumerate(blocks[1:]):
        if step:
            current = _result_roots(met, kibana_leaf_at_step[step - 1])
        met = _meet(current, _block_roots(block, shape))
        if not met:
            return None, False
    common: dict[str, Any] = {}
    for root, _, insertions in met:
        common.update(entries if root == KIBANA else insertions)
    return common, False


# ---- roots ----------------------------------------------------------------------------------------------------------

@dataclass(slots=True)
class _Rooted:
    """A document by roots: the order the algorithm meets them in, and each root's view."""

    order: list[str]
    roots: dict[str, View]


@dataclass
class _Shape:
    """What every block of a call has besides its event: the alert fields' roots and their `kibana.*` keys."""

    structure: int  # identifies the rule's parameters and the alert fields' keys: what `_kibana_plan` depends on
    root_order: tuple[str, ...]  # the roots of the alert fields, in the order their first leaf comes
    kibana_keys: tuple[str, ...]  # the alert fields under `kibana`, in order
    common: dict[str, Any]  # what the intersection leaves of each constant `kibana.*` alert field
    templates: dict[Any, dict[str, Any]] = field(default_factory=dict)  # per kibana plan: its result, to fill in


def _block_roots(block: Block, shape: _Shape) -> _Rooted:
    # the algorithm meets a root at its first leaf: leaf-valued keys first, in document order (the `original_*`
    # copies, then the alert fields come last), then object-valued keys in reverse order (the alert's parameters last)
    first = [*block.leaf_roots, KIBANA] if block.original_keys else block.leaf_roots
    order = list(dict.fromkeys([*first, *shape.root_order, *reversed(block.object_roots)]))
    return _Rooted(order, block.roots)  # (the kibana root is not among the views: `_meet` knows it)


def _view(root: str, items: list[tuple[str, Any]], dirty: set[str]) -> View:
    """The view of a root held by several keys (or by a dotted one)."""
    nested = None
    dotted: dict[str, Any] = {}
    for key, value in items:
        if key == root:
            if type(value) is not dict or root in dirty:
                return (_GENERIC, items, None)
            nested = value
            continue
        below = key[len(root) + 1:]
        if not below or "." in below or below[0] in _DIGITS or type(value) is dict:
            return (_GENERIC, items, None)
        dotted[below] = value
    if nested is not None and not nested.keys().isdisjoint(dotted):
        return (_GENERIC, items, None)
    return (_TREE, dotted, nested)


def _items(root: str, view: View) -> list[tuple[str, Any]]:
    kind, x, y = view
    if kind == _LEAF:
        return [(root, x)]
    if kind == _GENERIC:
        return list(x)
    items = [(f"{root}.{below}", value) for below, value in x.items()]
    if y is not None:
        items.append((root, y))  # the only object: the algorithm takes it after every leaf anyway
    return items


def _meet(a: _Rooted, b: _Rooted) -> list[tuple[str, int, list[tuple[str, Any]]]]:
    """One step of the fold, root by root: each surviving root with how it ended and its keys and values, in the
    order the result lists them (the roots that ended as leaves first, then the others in reverse: the algorithm's
    stack)."""
    met: list[tuple[str, int, list[tuple[str, Any]]]] = []
    a_roots, b_roots = a.roots, b.roots
    for root in a.order:
        if root == KIBANA:  # every document has it: computed apart (`_kibana_fold`)
            met.append((root, _KIBANA, []))
            continue
        a_view, b_view = a_roots.get(root), b_roots.get(root)
        if a_view is None or b_view is None:
            continue
        outcome = _pair_root(root, a_view, b_view)
        if outcome is not None:
            met.append((root, *outcome))
    return [m for m in met if m[1] == _LEAF] + [m for m in reversed(met) if m[1] != _LEAF]


def _result_roots(met: list[tuple[str, int, list[tuple[str, Any]]]], kibana_has_leaf: bool) -> _Rooted:
    """A step's result as the next step reads it."""
    first: list[str] = []
    later: list[str] = []
    roots: dict[str, View] = {}
    for root, kind, insertions in met:
        if kind == _KIBANA:
            has_leaf = kibana_has_leaf
        else:
            roots[root] = _result_view(root, kind, insertions)
            has_leaf = any(type(value) is not dict for _, value in insertions)
        (first if has_leaf else later).append(root)
    return _Rooted(first + later[::-1], roots)


def _result_view(root: str, kind: int, insertions: list[tuple[str, Any]]) -> View:
    if kind == _LEAF:
        return (_LEAF, insertions[0][1], None)
    if kind == _TREE:
        prefix = len(root) + 1
        nested = None
        dotted = {}
        for key, value in insertions:
            if key == root:
                nested = value
            else:
                dotted[key[prefix:]] = value
        return (_TREE, dotted, nested)
    return (_GENERIC, insertions, None)


def _pair_root(root: str, a: View, b: View) -> tuple[int, list[tuple[str, Any]]] | None:
    """(how the root ends, its keys and values in result order), or None when nothing of it is common."""
    a_kind, b_kind = a[0], b[0]
    if a_kind == _TREE and b_kind == _TREE:
        if not a[1] and not b[1] and a[2] and b[2]:  # the commonest: two plain objects under the root key
            common = _plain_pair(a[2], b[2])
            return (_TREE, [(root, common)]) if common else None
        return _tree_pair(root, a, b)
    if a_kind == _GENERIC or b_kind == _GENERIC:
        return _generic_root(root, _items(root, a), _items(root, b))
    # a tree on either side is an object no value is identical to: `{}` stands for it
    kept = leaf_intersection(a[1] if a_kind == _LEAF else {}, b[1] if b_kind == _LEAF else {})
    return None if kept is MISSING else (_LEAF, [(root, kept)])


def _generic_root(root: str, a_items: list[tuple[str, Any]],
                  b_items: list[tuple[str, Any]]) -> tuple[int, list[tuple[str, Any]]] | None:
    """The reference algorithm on one root of each document."""
    nested, a_dotted, b_dotted = normalised_intersection(dict(a_items), dict(b_items))
    if not nested:
        return None
    kind = _GENERIC if isinstance(nested[root], dict) else _LEAF
    return kind, list(apply_notation_preference(nested, a_dotted, b_dotted).items())


def _tree_pair(root: str, a: View, b: View) -> tuple[int, list[tuple[str, Any]]] | None:
    """Two `_TREE` roots. The algorithm's tree for a root holds its dotted leaves first (emitted before any object),
    then its object's leaves in order, then the object's objects in reverse order; the walk keeps that order. The
    result takes the leaves in that order, a leaf staying a dotted key when both documents spelt it so, then the
    objects in reverse again."""
    _, a_dotted, a_nested = a
    _, b_dotted, b_nested = b
    # b's tree node at the root: its dotted leaves and its object's keys (never the same key: see `_view`)
    b_node = {**b_nested, **b_dotted} if b_nested and b_dotted else b_nested or b_dotted
    insertions: list[tuple[str, Any]] = []
    under: dict[str, Any] | None = None
    for below, a_value in a_dotted.items():
        b_value = b_node.get(below, MISSING)
        if b_value is MISSING:
            continue
        kept = leaf_intersection(a_value, {} if type(b_value) is dict else b_value)
        if kept is MISSING:
            continue
        if below in b_dotted:
            insertions.append((f"{root}.{below}", kept))
        else:
            if under is None:
                under = {}
                insertions.append((root, under))
            under[below] = kept
    if a_nested:
        rest = _plain_pair(a_nested, b_node)
        if rest:
            if under is None:
                insertions.append((root, rest))
            else:
                under.update(rest)
    return (_TREE, insertions) if insertions else None


def _plain_pair(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The intersection of a plain object of `a` with `b`'s tree node, in the result's key order: the leaves in the
    tree's order (`a`'s leaves, then its objects that met a leaf, in reverse), then the objects in `a`'s order."""
    result: dict[str, Any] = {}
    objects: list[str] | None = None
    for key, a_value in a.items():
        kind = type(a_value)
        if kind is dict:
            if objects is None:
                objects = []
            objects.append(key)
            continue
        b_value = b.get(key, MISSING)
        if b_value is MISSING:
            continue
        if kind is type(b_value) and (kind is str or kind is int):  # the common case, decided here
            if a_value == b_value:
                result[key] = a_value
            continue
        kept = leaf_intersection(a_value, {} if type(b_value) is dict else b_value)
        if kept is not MISSING:
            result[key] = kept
    if objects is None:
        return result
    children = []
    for key in reversed(objects):
        b_value = b.get(key, MISSING)
        if b_value is MISSING:
            continue
        if type(b_value) is dict:
            child = _plain_pair(a[key], b_value)
            if child:
                children.append((key, child))
        else:
            kept = leaf_intersection({}, b_value)
            if kept is not MISSING:
                result[key] = kept
    for key, child in reversed(children):
        result[key] = child
    return result


_EMPTY: dict[str, Any] = {}


# ---- the kibana root --------------------------------------------------------------------------------------------

_V, _A, _S = 0, 1, 2  # where a key of the kibana result takes its value: the fold, the call's constants, the plan


class _Token:
    """A stand-in scalar: equal (`===`) to itself only."""

    __slots__ = ()


@dataclass(eq=False)
class _KibanaPlan:
    # the kibana keys of the result, in order, and where their values come from: the fold (_V), the call's
    # constants (_A), or, for the parameters' paths, a copier of what the reference algorithm kept of them (_S)
    entries: tuple[tuple[str, int, Any], ...]
    leaf_at_step: tuple[bool, ...]  # whether the root had a leaf-valued key after each step (it orders the roots)

    @functools.cached_property
    def folded(self) -> tuple[str, ...]:
        return tuple(name for name, source, _ in self.entries if source == _V)

    @functools.cached_property
    def copied(self) -> tuple[tuple[str, Any], ...]:
        return tuple((name, copier) for name, source, copier in self.entries if source == _S)


_STRUCTURES: dict[tuple[Any, ...], int] = {}
_KIBANA_PLANS: dict[tuple[Any, ...], _KibanaPlan | None] = {}
_MAX_PLANS = 1024  # distinct shapes of sequences; a few per rule in practice
_ids = itertools.count()


def _call_shape(plan: CallPlan) -> _Shape | None:
    """The call's `_Shape`, or None when its alert fields do not allow the fast path. Cached on the plan; what does
    not depend on the call's values, on the rule's layout."""
    cached = plan.facts.get("shape", MISSING)
    if cached is not MISSING:
        known: _Shape | None = cached
        return known
    facts = plan.layout.facts.get("shape", MISSING)
    if facts is MISSING:
        facts = plan.layout.facts["shape"] = _shape_facts(plan)
    shape: _Shape | None = None
    if facts is not None:
        structure, root_order, kibana_keys, kept = facts
        shape = _Shape(structure, root_order, kibana_keys, _constant_common(plan, kept))
    plan.facts["shape"] = shape
    return shape


def _shape_facts(plan: CallPlan) -> tuple[int, tuple[str, ...], tuple[str, ...], tuple[str, ...]] | None:
    """(structure number, root order, `kibana.*` alert fields, the constant ones the intersection keeps), or None."""
    if not plan.rule_plan.shareable or not plan.shared_params:
        return None
    template = plan.template
    kibana_keys = tuple(k for k in template if k.split(".", 1)[0] == KIBANA)
    outer_keys = tuple(k for k in template if k.split(".", 1)[0] != KIBANA)
    constant = [k for k in kibana_keys if k not in BLOCK_VARYING and k != _PARAMETERS]
    kept = tuple(k for k, v in _constant_common(plan, constant).items())
    classes = tuple((k, "per alert" if k in BLOCK_VARYING else "parameters" if k == _PARAMETERS
                     else "kept" if k in kept else "dropped") for k in kibana_keys)
    structure = (plan.rule_plan.fingerprint, classes, outer_keys)
    if len(_STRUCTURES) >= _MAX_PLANS:
        _STRUCTURES.clear()
        _KIBANA_PLANS.clear()
    number = _STRUCTURES.setdefault(structure, next(_ids))
    if not _plain_alert_fields(kibana_keys, outer_keys) or type(template.get(_PARAMETERS)) is not dict:
        return None
    root_order = tuple(dict.fromkeys(k.split(".", 1)[0] for k in template if k != _PARAMETERS))
    return number, root_order, kibana_keys, kept


def _constant_common(plan: CallPlan, keys: Any) -> dict[str, Any]:
    """What the intersection leaves of these constant alert fields: of two blocks' values, as the original builder
    made them (the same object for what it shares between alerts, equal copies for what it makes per alert)."""
    one = plan.template
    own = set(plan.own_containers)
    common = {}
    for key in keys:
        kept = leaf_intersection(one[key], one[key].copy() if key in own else one[key])
        if kept is not MISSING:
            common[key] = kept
    return common


def _plain_alert_fields(kibana_keys: tuple[str, ...], outer_keys: tuple[str, ...]) -> bool:
    """The fast path reads the alert fields as separate leaves: no key may be a prefix of another, hold an index-like
    segment, or lie where the event's `original_*` copies go; outside `kibana.*` only `@timestamp` and `event.kind`."""
    if set(outer_keys) != set(OUTER_FIELDS):
        return False
    keys = set(kibana_keys)
    for key in kibana_keys:
        parts = key.split(".")
        if any(is_index(part) for part in parts[1:]) or key.startswith(_ORIGINAL_PREFIXES):
            return False
        if any(".".join(parts[:n]) in keys for n in range(1, len(parts))):
            return False
    return True


def _kibana_fold(blocks: list[Block], plan: CallPlan,
                 shape: _Shape) -> tuple[dict[str, Any], tuple[bool, ...]] | None:
    """The kibana root of the intersection: the values by a key-by-key fold, the key order from a cached plan."""
    current = dict(blocks[0].varying)
    dropped_at = []
    for block in blocks[1:]:
        values = block.varying
        kept: dict[str, Any] = {}
        dropped = []
        for key, a_value in current.items():
            b_value = values.get(key, MISSING)
            if b_value is MISSING:
                continue
            if type(a_value) is str and type(b_value) is str:  # most of them: decided here
                value = a_value if a_value == b_value else MISSING
            else:
                value = leaf_intersection(a_value, b_value)
            if value is MISSING:
                dropped.append(key)
            else:
                kept[key] = value
        dropped_at.append(tuple(dropped))
        current = kept
    # what the cached plan depends on: the blocks' `kibana.*` keys, the types of their `original_*` copies (an array
    # meeting an object where another event had one is kept as `[]`, anything else dropped), what dropped when
    plan_key = (shape.structure,
                tuple((b.has_original_time, b.original_keys, tuple(map(type, map(b.varying.__getitem__,
                                                                                 b.original_keys))))
                      for b in blocks), tuple(dropped_at))
    if plan_key in _KIBANA_PLANS:
        kibana_plan = _KIBANA_PLANS[plan_key]
    else:
        kibana_plan = _kibana_plan(blocks, plan, shape, dropped_at)
        if len(_KIBANA_PLANS) >= _MAX_PLANS:
            _KIBANA_PLANS.clear()
        _KIBANA_PLANS[plan_key] = kibana_plan
    if kibana_plan is None:
        return None
    template = shape.templates.get(kibana_plan)
    if template is None:  # the plan's keys in order, with this call's constants
        template = {name: shape.common[name] if source == _A else None for name, source, _ in kibana_plan.entries}
        shape.templates[kibana_plan] = template
    entries = template.copy()
    for name in kibana_plan.folded:
        value = current.get(name, MISSING)
        if value is MISSING:
            return None
        entries[name] = value
    for name, copier in kibana_plan.copied:
        entries[name] = copier()
    return entries, kibana_plan.leaf_at_step


def _kibana_plan(blocks: list[Block], plan: CallPlan, shape: _Shape,
                 dropped_at: list[tuple[str, ...]]) -> _KibanaPlan | None:
    """Runs the reference algorithm on the blocks' kibana fields, with stand-ins for the values that differ between
    blocks chosen so that each survives or drops as the real one did; its result's key order is the real one's."""
    first: dict[str, _Token] = {}
    stand_ins: list[Any] = []  # keeps the stand-in arrays alive, so that their ids identify them

    def stand_in(step: int, key: str, value: Any) -> Any:
        if isinstance(value, list):
            stand_ins.append([])
            return stand_ins[-1]
        if step == 0:
            first[key] = _Token()
            return first[key]
        if key in dropped_at[step - 1]:
            return _Token()
        return first.get(key) or _Token()

    skeletons = []
    for step, block in enumerate(blocks):
        skeleton = {key: stand_in(step, key, block.varying[key]) for key in block.original_keys}
        for key in shape.kibana_keys:
            if key in block.varying:
                skeleton[key] = stand_in(step, key, block.varying[key])
            elif key != ORIGINAL_TIME:
                skeleton[key] = plan.template[key]
        skeletons.append(skeleton)

    result: dict[str, Any] | None = skeletons[0]
    leaf_at_step = []
    for skeleton in skeletons[1:]:
        result = object_pair_intersection(result, skeleton)
        if result is None:
            return None
        leaf_at_step.append(any(type(value) is not dict for value in result.values()))
    assert result is not None
    varying = set().union(*(block.varying for block in blocks))
    stand_in_ids = {id(value) for value in stand_ins}
    entries: list[tuple[str, int, Any]] = []
    for key, value in result.items():
        if key in varying:
            entries.append((key, _V, None))
        elif key in shape.common:
            entries.append((key, _A, None))
        elif (key == KIBANA or key.startswith(_PARAMETERS + ".")) and not _holds_stand_in(value, stand_in_ids):
            entries.append((key, _S, compile_copier(value)))
        else:
            return None  # not a shape this module knows: the reference algorithm, always
    return _KibanaPlan(tuple(entries), tuple(leaf_at_step))


def _holds_stand_in(value: Any, stand_in_ids: set[int]) -> bool:
    if isinstance(value, _Token) or id(value) in stand_in_ids:
        return True
    if isinstance(value, dict):
        return any(_holds_stand_in(child, stand_in_ids) for child in value.values())
    if isinstance(value, list):
        return any(_holds_stand_in(child, stand_in_ids) for child in value)
    return False


__all__ = ["OUTER_FIELDS", "Block", "describe_block", "sequence_common"]
