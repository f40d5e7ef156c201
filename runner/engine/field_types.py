"""How each Elasticsearch field type indexes a `_source` value, reads a query literal, orders and renders values.

The engine never compares raw `_source` values: it compares what Elasticsearch would have indexed (a keyword's
string, a long's integer, a date's epoch time, an ip's 128-bit address, a version's ordering key). One `FieldType` per
mapping type family holds those rules.

A runtime field without a script (`runner.eql.Runtime.SOURCE`) parses its `_source` values the way Elasticsearch's
`emitFromObject` of its type's field script does (server/.../script/*FieldScript.java): a keyword emits any scalar's
`toString()` (no `ignore_above`), a long `objectToLong(v, coerce)` and a double numbers and numeric strings, a date
its format's parse of `toString()`, an ip strings only, a boolean booleans and the strings "true"/"false" only;
anything else is skipped. Those are the indexed types' own rules except the boolean's, hence one type more.

A `keyword` with `normalizer: lowercase` (Elastic Defend's `*.caseless` fields) indexes its values lowercased (after
`ignore_above`, which reads the value as sent) and Elasticsearch normalises every constant a query compares with it
the same way (`KeywordFieldType.indexedValueForSearch`: term, terms, range, prefix, wildcard and regexp queries alike),
while a script (a function of the field) sees the normalised doc values and its other arguments as written. A custom
normalizer is defined in index settings rule-runner does not read: a query reading such a field fails
(`UnknownNormalizer`), as creating the index would without those settings. A `constant_keyword` with a `value` holds
that value in every document of its index whatever `_source` says (Elasticsearch refuses a document with another
value; the reader answers the mapped one); without a `value`, the first indexed document fixes it on a cluster, and
the engine reads each document's own `_source` value (README: what differs).

`verbatim` types index a plain `_source` string as the string itself (within `ignore_above`): the fast paths that
compare raw strings (the generated keyword code, the batch's discrimination tree, the category dispatch, join keys)
are taken only for them.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from runner.engine.dates import NANOS_PER_MILLI, date_parser, date_range, format_date, iso_millis_nanos
from runner.eql import FieldMapping, type_family
from runner.errors import RuleRunnerError


def java_double(value: float) -> str:
    """`Double.toString`: how Elasticsearch turns a JSON decimal into a keyword or a string."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    exact = Decimal(repr(abs(value)))  # shortest round-trip digits, as Java 19+ prints them
    digits = "".join(map(str, exact.as_tuple().digits)).rstrip("0") or "0"
    exponent = exact.adjusted()
    if 1e-3 <= abs(value) < 1e7:
        if exponent >= 0:
            whole = digits[: exponent + 1].ljust(exponent + 1, "0")
            fraction = digits[exponent + 1 :] or "0"
        else:
            whole = "0"
            fraction = "0" * (-exponent - 1) + digits
        return f"{sign}{whole}.{fraction}"
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{exponent}"


def to_text(value: Any) -> str:
    """A scalar as Elasticsearch's string form (keyword indexing, `string()`, `concat()`)."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return java_double(value)
    return str(value)


def lowercase(text: str) -> str:
    """Lucene's LowerCaseFilter (the built-in `lowercase` normalizer): `Character.toLowerCase` per code point, so no
    context (a word-final capital sigma lowers to U+03C3, not U+03C2) and one character for one (U+0130 lowers to
    `i` alone), unlike `str.lower`."""
    if text.isascii():
        return text.lower()
    return "".join(ch.lower()[0] for ch in text)


class FieldType:
    """Rules of one type family. Subclasses override what differs."""

    family = "keyword"
    numeric = False
    verbatim = False  # a plain `_source` string is indexed as itself (within ignore_above): see the module docstring

    def __init__(self, mapping: FieldMapping | None = None) -> None:
        self.mapping = mapping

    def index(self, raw: Any) -> Any:
        """One `_source` scalar → the indexed value, or None when Elasticsearch would not index it."""
        raise NotImplementedError

    def literal(self, value: Any) -> Any:
        """A query literal → a value comparable with indexed values, or None if it cannot be one."""
        return self.index(value)

    def search_text(self, text: str) -> str:
        """A pattern or prefix of a wildcard, regexp or prefix query as the field's search analyzer makes it."""
        return text

    def literal_range(self, value: Any) -> tuple[Any, Any] | None:
        """The indexed values a literal stands for in a term or range query, as an inclusive interval (a point for
        most types; a whole second for `"2017-08-30T20:47:33Z"` on a date; a network for a CIDR on an ip)."""
        target = self.literal(value)
        return None if target is None else (target, target)

    def render(self, value: Any) -> Any:
        """An indexed value as the fields API renders it (sequence join keys)."""
        return value

    def bucket_key(self, value: Any) -> Any:
        """An indexed value as a composite aggregation key renders it (sample join keys)."""
        return self.render(value)

    def script_value(self, value: Any) -> Any:
        """An indexed value as a script (function arguments, arithmetic) sees it."""
        return value

    def sort_key(self, value: Any) -> Any:
        return value


class KeywordType(FieldType):
    family = "keyword"
    verbatim = True

    def __init__(self, mapping: FieldMapping | None = None, ignore_above: int | None = None) -> None:
        super().__init__(mapping)
        self.ignore_above = ignore_above

    def index(self, raw: Any) -> Any:
        if type(raw) is str:
            return raw if self.ignore_above is None or len(raw) <= self.ignore_above else None
        if isinstance(raw, (dict, list)):
            return None
        text = to_text(raw)
        if self.ignore_above is not None and len(text) > self.ignore_above:
            return None
        return text

    def literal(self, value: Any) -> Any:
        if isinstance(value, (dict, list)) or value is None:
            return None
        return to_text(value)


class NormalizedKeywordType(KeywordType):
    """A `keyword` with `normalizer: lowercase`: values and query constants lowercased (see the module docstring)."""

    verbatim = False

    def index(self, raw: Any) -> Any:
        text = super().index(raw)  # ignore_above reads the value as sent (KeywordFieldMapper.indexValue)
        return None if text is None else lowercase(text)

    def literal(self, value: Any) -> Any:
        text = super().literal(value)
        return None if text is None else lowercase(text)

    def search_text(self, text: str) -> str:
        return lowercase(text)


class ConstantKeywordType(KeywordType):
    """A `constant_keyword` with a `value`: every document of the index holds it (see the module docstring)."""

    verbatim = False

    def __init__(self, mapping: FieldMapping | None, value: str) -> None:
        super().__init__(mapping)
        self.value = value

    def index(self, raw: Any) -> Any:
        return self.value


_INTEGER_TEXT = re.compile(r"[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?\Z")


class _NumericType(FieldType):
    numeric = True

    def literal(self, value: Any) -> Any:
        # a decimal literal compares with integers as a number (range queries round the bound)
        if isinstance(value, bool) or value is None:
            return None
        if isinstance(value, (int, float)):
            return value
        return self.index(value)


class IntegerType(_NumericType):
    family = "integer"

    def index(self, raw: Any) -> Any:
        if isinstance(raw, bool):
            return None
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float):
            return int(raw) if math.isfinite(raw) else None
        if isinstance(raw, str) and _INTEGER_TEXT.match(raw.strip()):
            number = float(raw) if any(c in raw for c in ".eE") else int(raw)
            return int(number)
        return None


class RationalType(_NumericType):
    family = "rational"

    def index(self, raw: Any) -> Any:
        if isinstance(raw, bool):
            return None
        if isinstance(raw, (int, float)):
            return float(raw)
        if isinstance(raw, str):
            try:
                return float(raw)
            except ValueError:
                return None
        return None


class BooleanType(FieldType):
    family = "boolean"

    def index(self, raw: Any) -> Any:
        if isinstance(raw, bool):
            return raw
        if raw == "true":
            return True
        if raw == "false" or raw == "":
            return False
        return None


class RuntimeBooleanType(BooleanType):
    """A boolean runtime field reading `_source`: `Booleans.parseBoolean` takes only "true" and "false" (an indexed
    boolean also takes "" as false)."""

    def index(self, raw: Any) -> Any:
        if isinstance(raw, bool):
            return raw
        if raw == "true":
            return True
        if raw == "false":
            return False
        return None


class DateType(FieldType):
    """Values are epoch nanoseconds; a `date` field keeps millisecond precision."""

    family = "date"

    def __init__(self, mapping: FieldMapping | None = None) -> None:
        super().__init__(mapping)
        self.nanos = bool(mapping and mapping.type == "date_nanos")
        self.format = mapping.format if mapping else None
        self.parse = date_parser(self.format)

    def index(self, raw: Any) -> Any:
        if self.format is None and type(raw) is str:
            # the default format's usual shape, `2026-11-29T10:00:00.123Z`, without the format chain
            nanos = iso_millis_nanos(raw)
            if nanos is None:
                nanos = self.parse(raw)
        else:
            nanos = self.parse(raw)
        if nanos is None:
            return None
        if not self.nanos:
            nanos -= nanos % NANOS_PER_MILLI
        return nanos

    def literal(self, value: Any) -> Any:
        bounds = self.literal_range(value)
        return None if bounds is None else bounds[0]

    def literal_range(self, value: Any) -> tuple[Any, Any] | None:
        if isinstance(value, bool) or value is None:
            return None
        return date_range(value, self.format) or date_range(value, None)

    def render(self, value: Any) -> Any:
        return format_date(value, self.format, self.nanos)

    def bucket_key(self, value: Any) -> Any:
        return value // NANOS_PER_MILLI

    def script_value(self, value: Any) -> Any:
        return value // NANOS_PER_MILLI


class IpType(FieldType):
    """Values are `ipaddress` objects normalised to IPv6 (IPv4 as IPv4-mapped), ordered like Elasticsearch's bytes."""

    family = "ip"

    def index(self, raw: Any) -> Any:
        if not isinstance(raw, str):
            return None
        return parse_ip(raw)

    def literal_range(self, value: Any) -> tuple[Any, Any] | None:
        if isinstance(value, str) and "/" in value:
            # a term query on an ip field accepts a CIDR and matches the whole network
            try:
                return parse_cidr(value)
            except CidrError:
                return None
        return super().literal_range(value)

    def render(self, value: Any) -> Any:
        return format_ip(value)

    def script_value(self, value: Any) -> Any:
        return format_ip(value)


@lru_cache(maxsize=65536)
def parse_ip(text: str) -> int | None:
    """An address as the 128-bit integer Elasticsearch indexes (IPv4 mapped into IPv6). Cached: the same addresses
    come back event after event (hosts, their peers), and `ipaddress` costs microseconds per parse."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if address.version == 4:
        return 0xFFFF_0000_0000 | int(address)
    mapped = address.ipv4_mapped
    if mapped is not None:
        return 0xFFFF_0000_0000 | int(mapped)
    return int(address)


class CidrError(RuleRunnerError):
    """A text that is neither an IP address nor a CIDR range."""


@lru_cache(maxsize=4096)
def parse_cidr(text: str) -> tuple[int, int]:
    """A CIDR (or a single address) as an inclusive range of 128-bit addresses, IPv4 mapped into IPv6."""
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise CidrError(f"[{text}] is not a valid CIDR or IP address") from None
    if network.version == 4:
        base = 0xFFFF_0000_0000
        return base | int(network.network_address), base | int(network.broadcast_address)
    return int(network.network_address), int(network.broadcast_address)


def format_ip(value: int) -> str:
    if value >> 32 == 0xFFFF:
        return str(ipaddress.IPv4Address(value & 0xFFFF_FFFF))
    return str(ipaddress.IPv6Address(value))


_SEMVER = re.compile(
    r"(?P<main>\d+(?:\.\d+)*)"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?\Z"
)


def version_key(text: str) -> tuple[Any, ...]:
    """Elasticsearch's `version` ordering: valid SemVer-like versions by their parts, prereleases before releases,
    invalid versions after every valid one, among themselves by their text."""
    match = _SEMVER.match(text)
    if match is None:
        return (1, text)
    main = tuple(int(p) for p in match.group("main").split("."))
    pre = match.group("pre")
    if pre is None:
        pre_key: tuple[Any, ...] = (1,)
    else:
        parts = []
        for part in pre.split("."):
            parts.append((0, int(part), "") if part.isdigit() else (1, 0, part))
        pre_key = (0, tuple(parts))
    return (0, main, pre_key)


class VersionType(FieldType):
    family = "version"

    def index(self, raw: Any) -> Any:
        if isinstance(raw, (dict, list, bool)) or raw is None:
            return None
        return Version(to_text(raw))

    def literal(self, value: Any) -> Any:
        if isinstance(value, (dict, list, bool)) or value is None:
            return None
        return Version(to_text(value))

    def render(self, value: Any) -> Any:
        return value.text

    def script_value(self, value: Any) -> Any:
        return value.text


@dataclass(frozen=True, slots=True, order=False)
class Version:
    text: str

    @property
    def key(self) -> tuple[Any, ...]:
        return version_key(self.text)

    def __lt__(self, other: Version) -> bool:
        return self.key < other.key

    def __le__(self, other: Version) -> bool:
        return self.key <= other.key

    def __gt__(self, other: Version) -> bool:
        return self.key > other.key

    def __ge__(self, other: Version) -> bool:
        return self.key >= other.key


class UnsearchableField(RuleRunnerError, ValueError):
    """A query on a field its type cannot search: Elasticsearch fails the search (a 400), it does not match nothing."""

    es_type = "query_shard_exception"


class UnknownNormalizer(UnsearchableField):
    """A keyword field whose normalizer is not the built-in `lowercase`: it is defined in index settings, which
    rule-runner does not read, so it cannot index the field's values as Elasticsearch would. The search fails, as
    creating the index would without those settings."""

    es_type = "mapper_parsing_exception"


class BinaryType(FieldType):
    """`binary`: EQL's verifier accepts it in comparisons (VerifierTests.testBinary), but a term or range query on it
    fails the search: "Binary fields do not support searching" (BinaryFieldMapper.termQuery), and a script cannot load
    its values (no fielddata). Only presence (`x != null`, an exists query) reads it."""

    family = "binary"

    def index(self, raw: Any) -> Any:
        return raw if isinstance(raw, str) else None  # base64 text: present, never compared

    def literal_range(self, value: Any) -> tuple[Any, Any] | None:
        raise UnsearchableField("failed to create query: Binary fields do not support searching")

    def script_value(self, value: Any) -> Any:
        name = self.mapping.name if self.mapping is not None else "binary"
        raise UnsearchableField(f"Can't load fielddata on [{name}] because fielddata is unsupported on fields of type "
                                f"[binary]. Use doc values instead.")


class UnsupportedType(FieldType):
    """Types EQL cannot query (geo, ...): nothing is comparable."""

    family = "unsupported"

    def index(self, raw: Any) -> Any:
        return None


def _keyword_type(mapping: FieldMapping) -> FieldType:
    if mapping.type == "constant_keyword":
        value = mapping.params.get("value")
        if value is not None and mapping.runtime is None:
            return ConstantKeywordType(mapping, to_text(value))
    normalizer = mapping.params.get("normalizer") if mapping.type == "keyword" and mapping.runtime is None else None
    if normalizer is None:
        return KeywordType(mapping, mapping.ignore_above)
    if normalizer == "lowercase":
        return NormalizedKeywordType(mapping, mapping.ignore_above)
    # Elasticsearch's message when the index's settings do not define it (KeywordFieldMapper.Builder.buildFieldType)
    raise UnknownNormalizer(
        f"normalizer [{normalizer}] not found for field [{mapping.name}]: rule-runner knows only the built-in "
        "[lowercase] normalizer (a custom one is defined in index settings, which it does not read)"
    )


def field_type(mapping: FieldMapping) -> FieldType:
    """The `FieldType` for a mapped field (for `text`, the rules of its exact sub-field)."""
    family = type_family(mapping.type)
    if mapping.runtime is not None and family == "boolean":
        return RuntimeBooleanType(mapping)
    if family == "keyword":
        return _keyword_type(mapping)
    if family == "text":
        return KeywordType(mapping, None)  # callers read the exact sub-field; see fields.py
    if family == "integer":
        return IntegerType(mapping)
    if family == "rational":
        return RationalType(mapping)
    if family == "date":
        return DateType(mapping)
    if family == "ip":
        return IpType(mapping)
    if family == "version":
        return VersionType(mapping)
    if family == "boolean":
        return BooleanType(mapping)
    if family == "binary":
        return BinaryType(mapping)
    return UnsupportedType(mapping)


__all__ = [
    "BinaryType",
    "BooleanType",
    "CidrError",
    "ConstantKeywordType",
    "DateType",
    "FieldType",
    "IntegerType",
    "IpType",
    "KeywordType",
    "NormalizedKeywordType",
    "RationalType",
    "RuntimeBooleanType",
    "UnknownNormalizer",
    "UnsearchableField",
    "UnsupportedType",
    "Version",
    "VersionType",
    "field_type",
    "format_ip",
    "java_double",
    "lowercase",
    "parse_cidr",
    "parse_ip",
    "to_text",
    "version_key",
]
