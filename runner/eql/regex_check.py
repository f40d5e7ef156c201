"""Validation of the literals Elasticsearch would only reject at search time: regular expressions and CIDR ranges."""

from __future__ import annotations

import ipaddress
import re

from runner.eql.lucene_regex import LuceneRegexError, compile_lucene_regex


def regex_problem(pattern: str, lucene: bool) -> str | None:
    """Why `pattern` is not a valid regular expression (Lucene syntax on fields, Java syntax in scripts), or None."""
    try:
        if lucene:
            compile_lucene_regex(pattern)
        else:
            re.compile(pattern)
    except LuceneRegexError as err:
        return str(err)
    except re.error as err:
        return str(err)
    return None


def cidr_problem(text: str) -> str | None:
    """Why `text` is not an IPv4/IPv6 address or CIDR range, or None."""
    address, _, prefix = text.strip().partition("/")
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return f"'{address}' is not an IP string literal."
    if prefix:
        limit = 32 if parsed.version == 4 else 128
        if not prefix.isdigit() or not 0 <= int(prefix) <= limit:
            return (
                f"illegal prefixLength '{prefix}'. Must be 0-32 for IPv4 ranges, 0-128 for IPv6 ranges"
            )
    return None


__all__ = ["cidr_problem", "regex_problem"]
