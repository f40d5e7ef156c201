"""Verification rules checked against Elasticsearch's own unit tests and source (issue 13, item 3).

Each test quotes the message Elasticsearch expects and says where it comes from: x-pack/plugin/eql's
VerifierTests.java (mappings mapping-nested.json, mapping-multi-field.json, mapping-binary.json,
mapping-default.json), ExpressionTests.java and LogicalPlanTests.java, or the source the behaviour is read from.
The mappings below carry the same fields as those resources (plus `event.category`, which `foo where` reads).
"""

from __future__ import annotations

import pytest

from runner.eql import EqlSyntaxError, EqlVerificationError, Schema, parse, verify

CATEGORY = {"event": {"properties": {"category": {"type": "keyword"}}}}
DEFAULT = {  # mapping-default.json, the fields the tests below read
    "properties": {
        **CATEGORY,
        "pid": {"type": "long"},
        "@timestamp": {"type": "date"},
        "command_line": {"type": "keyword"},
        "hostname": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
        "source_address": {"type": "ip"},
        "constant_keyword": {"type": "constant_keyword"},
        "opcode": {"type": "long"},
        "nanos": {"type": "date_nanos"},
        "wild": {"type": "wildcard"},
    }
}
NESTED = {  # mapping-nested.json
    "properties": {
        **CATEGORY,
        "long_field": {"type": "long"},
        "processes": {
            "type": "nested",
            "properties": {
                "pid": {"type": "long"},
                "path": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
            },
        },
    }
}
MULTI_FIELD = {  # mapping-multi-field.json
    "properties": {
        **CATEGORY,
        "multi_field": {
            "type": "text",
            "fields": {"raw": {"type": "keyword"}, "english": {"type": "text", "analyzer": "english"}},
        },
        "multi_field_ambiguous": {
            "type": "text",
            "fields": {
                "one": {"type": "keyword"},
                "two": {"type": "keyword"},
                "normalized": {"type": "keyword", "normalizer": "some_normalizer"},
            },
        },
        "multi_field_nested": {
            "type": "nested",
            "properties": {
                "dep_name": {"type": "text"},
                "dep_id": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
                "end_date": {"type": "date"},
                "start_date": {"type": "date"},
            },
        },
    }
}
BINARY = {"properties": {**CATEGORY, "blob": {"type": "binary"}}}  # mapping-binary.json


def accept(mapping: dict[str, object], query: str) -> None:
    verify(parse(query), Schema.from_mappings({"test": mapping}))


def error(mapping: dict[str, object], query: str) -> str:
    """The one problem, as VerifierTests.error() gives it: "L:C: message"."""
    with pytest.raises(EqlVerificationError) as caught:
        verify(parse(query), Schema.from_mappings({"test": mapping}))
    text = str(caught.value)
    assert text.startswith("Found 1 problem\nline "), text
    return text.removeprefix("Found 1 problem\nline ")


def syntax(query: str) -> str:
    with pytest.raises(EqlSyntaxError) as caught:
        parse(query)
    return str(caught.value)


# ---- fields of type nested (VerifierTests.testNested, testMultiField) ----------------------------------------------


def test_nested_fields_are_rejected() -> None:
    # AnalysisUtils.handleSpecialFields: a `nested` field, then a field with a nested parent
    assert error(NESTED, "foo where processes == 0") == (
        "1:11: Cannot use field [processes] type [nested] due to nested fields not being supported yet"
    )
    assert error(NESTED, "foo where processes.pid == 0") == (
        "1:11: Cannot use field [processes.pid] type [long] with unsupported nested type in hierarchy "
        "(field [processes])"
    )
    assert error(NESTED, "foo where processe.pid == 0") == (
        "1:11: Unknown column [processe.pid], did you mean any of [processes.pid, processes.path, "
        "processes.path.keyword]?"
    )
    accept(NESTED, "foo where long_field == 123")


def test_fields_under_a_nested_object_name_their_type_and_parent() -> None:
    # testMultiField: the type is the data type's name (`datetime` for a date), multi-fields included
    assert error(MULTI_FIELD, 'foo where multi_field_nested.dep_name == "bar"') == (
        "1:11: Cannot use field [multi_field_nested.dep_name] type [text] with unsupported nested type in hierarchy "
        "(field [multi_field_nested])"
    )
    assert error(MULTI_FIELD, 'foo where multi_field_nested.dep_id.keyword == "bar"') == (
        "1:11: Cannot use field [multi_field_nested.dep_id.keyword] type [keyword] with unsupported nested type in "
        "hierarchy (field [multi_field_nested])"
    )
    assert error(MULTI_FIELD, 'foo where multi_field_nested.end_date == ""') == (
        "1:11: Cannot use field [multi_field_nested.end_date] type [datetime] with unsupported nested type in "
        "hierarchy (field [multi_field_nested])"
    )
    # an optional reference resolves through the same checks (ResolveOrReplaceOptionalRefs -> resolveAgainstList)
    assert error(NESTED, "foo where ?processes.pid == 0").endswith("in hierarchy (field [processes])")


# ---- keyword with a normalizer: accepted, as a cluster does -------------------------------------------------------


def test_normalized_keyword_is_accepted_as_on_a_cluster() -> None:
    # VerifierTests.testMultiField expects "[multi_field_ambiguous.normalized == \"bar\"] cannot operate on first
    # argument field of data type [keyword]: Normalized keyword field cannot be used for exact match operations",
    # but only because its mapping is read by the test helper Types.loadMapping, which reads `normalizer`. A cluster
    # builds the fields from _field_caps (ql IndexResolver.createField), which cannot see a normalizer:
    #     // TODO: to check whether isSearchable/isAggregateable takes into account the presence of the normalizer
    #     boolean normalized = false;
    # so Elasticsearch accepts the query against a real index; so do we.
    accept(MULTI_FIELD, 'foo where multi_field_ambiguous.normalized == "bar"')
    accept(MULTI_FIELD, 'foo where multi_field_ambiguous.one == "bar"')


# ---- binary (VerifierTests.testBinary) ------------------------------------------------------------------------------


def test_binary_fields_are_accepted_in_comparisons() -> None:
    for query in ('foo where blob == ""', 'foo where blob == "bar"', "foo where blob == 0", "foo where blob == 123456"):
        accept(BINARY, query)


# ---- head/tail fold constant arithmetic (LogicalPlanTests.testFoldedHeadTailValidValue) ----------------------------


def test_pipe_limit_folds_constant_arithmetic() -> None:
    # "any where true | head 2147483648-1": a limit of Integer.MAX_VALUE
    for pipe in ("head", "tail"):
        query = parse(f"any where true | {pipe} 2147483648-1")
        assert [(p.kind, p.count) for p in query.pipes] == [(pipe, 2147483647)]
    assert parse("any where true | head 2 * 3 + 1").pipes[0].count == 7
    assert parse("any where true | head 7 / 2").pipes[0].count == 3  # integer division
    # a negative value is refused, quoted as written (LogicalPlanBuilder: expression.sourceText())
    assert syntax("any where true | head 2-3") == "line 1:23: Pipe [head] expects a positive integer but found [2-3]"
    assert syntax("any where true | tail 1.5") == "line 1:23: Pipe [tail] expects a positive integer but found [1.5]"


# ---- `:` on a numeric field (VerifierTests.testIncorrectUsageOfStringEquals) ----------------------------------------


def test_string_equals_on_a_number_names_the_first_argument() -> None:
    assert error(DEFAULT, "foo where pid : 123") == (
        "1:11: first argument of [:] must be [string], found value [pid] type [long]; consider using [==] instead"
    )
    # on a string field the second argument is the problem, reported where the comparison starts
    assert error(DEFAULT, "foo where command_line : 123") == (
        "1:11: second argument of [:] must be [string], found value [123] type [integer]"
    )
    parse("foo where pid : 123")  # without a mapping the field's type, and so the message, is unknown


# ---- type names (VerifierTests.testQueryCondition) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("any where pid", "LONG"),
        ("any where @timestamp", "DATETIME"),
        ("any where command_line", "KEYWORD"),
        ("any where hostname", "TEXT"),
        ("any where constant_keyword", "KEYWORD"),
        ("any where source_address", "IP"),
        # ql DataTypes: date_nanos is DATETIME too
        ("any where nanos", "DATETIME"),
    ],
)
def test_condition_type_names(query: str, found: str) -> None:
    assert error(DEFAULT, query) == f"1:11: Condition expression needs to be boolean, found [{found}]"


def test_type_names_in_argument_messages() -> None:
    # the data type's type name ("datetime"), not the mapping type ("date")
    assert error(DEFAULT, 'foo where cidrMatch(@timestamp, "10.0.0.0/8")') == (
        '1:11: first argument of [cidrMatch(@timestamp, "10.0.0.0/8")] must be [ip], found value [@timestamp] '
        "type [datetime]"
    )
    # sequence keys print the Elasticsearch type (Verifier.doCheckKeyTypes: dataType().esType()) -- testKeys...
    assert error(DEFAULT, "sequence [process where true] by @timestamp [process where true] by opcode") == (
        "1:69: Sequence key [opcode] type [long] is incompatible with key [@timestamp] type [date]"
    )


# ---- text fields name their leaf (VerifierTests.testMultiField, testStringFunctionWithText) ------------------------


def test_text_field_messages_name_the_leaf() -> None:
    assert error(MULTI_FIELD, 'foo where multi_field.english == "bar"') == (
        '1:11: [multi_field.english == "bar"] cannot operate on first argument field of data type [text]: '
        "No keyword/multi-field defined exact matches for [english]; define one or use MATCH/QUERY instead"
    )
    # string() checks its argument without an ordinal (ToString: isExact(value, sourceText(), DEFAULT))
    assert error(MULTI_FIELD, 'process where string(multi_field.english) == "foo"') == (
        "1:15: [string(multi_field.english)] cannot operate on field of data type [text]: No keyword/multi-field "
        "defined exact matches for [english]; define one or use MATCH/QUERY instead"
    )
    # length() too (Length: isStringAndExact(input, sourceText(), ParamOrdinal.DEFAULT))
    assert error(DEFAULT, "foo where length(pid) > 1") == (
        "1:11: argument of [length(pid)] must be [string], found value [pid] type [long]"
    )


# ---- errors inside string literals (ExpressionTests) ---------------------------------------------------------------


def test_string_literal_errors_are_one_column_past_the_literal() -> None:
    # ParsingException(source, ...).getColumnNumber() adds one to the source's (already 1-based) column
    assert syntax("process where name=='hello world'") == (
        "line 1:22: Use double quotes [\"] to define string literals, not single quotes [']"
    )
    assert syntax("process where name == ?'hello world'") == (
        "line 1:24: Use triple double quotes [\"\"\"] to define unescaped string literals, not [?']"
    )
    assert syntax('process where name == ?"hello world"') == (
        "line 1:24: Use triple double quotes [\"\"\"] to define unescaped string literals, not [?\"]"
    )
    # testUnicodeWithWrongNumberOfHexDigits, testUnicodeWithInvalidUnicodePoints: "line 1:2: ..." for a literal at 1:1
    assert syntax('any where a == "\\u{D}"') == (
        "line 1:17: Unicode sequence should use [2-8] hex digits, [\\u{D}] has [1]"
    )
    assert syntax('any where a == "\\u{d800}"') == (
        "line 1:17: Invalid unicode character code, [d800] is a surrogate code"
    )
    # a token the lexer cannot read is reported at its start (ANTLR's listener: charPositionInLine + 1)
    assert syntax('any where a == "\\u{U1}"') == "line 1:16: token recognition error at: '\"\\u{U'"


# ---- between with the wrong number of arguments ---------------------------------------------------------------------


def test_function_arity_is_an_analysis_error() -> None:
    # EqlFunctionRegistry.def: `throw new QlIllegalArgumentException("expects three or four arguments")`, wrapped in
    # `new ParsingException(uf.source(), "error building [" + primaryName + "]: " + e.getMessage(), e)`: a
    # parsing_exception, raised when the analyzer resolves the function (AnalyzerRules.resolveFunction), so after the
    # AstBuilder's own errors anywhere in the query.
    assert syntax('process where between(a, "x") == "y"') == (
        "line 1:15: error building [between]: expects three or four arguments"
    )
    assert "Use double quotes" in syntax("process where between(a, \"x\") == \"y\" and b == 'z'")
    assert "Pipe [head] expects a positive integer" in syntax('process where between(a, "x") == "y" | head -1')


# ---- a single `=` ---------------------------------------------------------------------------------------------------


def test_single_equals_expects_what_elasticsearch_expects() -> None:
    # ANTLR's SLL prediction has read the `=` when it chose the alternatives, so a function call (`(`), a process
    # check (`of`) and a comparison are no longer expected (the expected set is taken at the last point a token
    # could have ended a rule, as in ExpressionTests.testChainedComparisonsDisallowed); obtained by running the
    # parser's ATN (EqlBase.interp) in ANTLR's interpreter
    assert syntax("process where a = 1") == (
        "line 1:17: mismatched input '=' expecting {<EOF>, 'and', 'in', 'in~', 'like', 'like~', 'not', 'or', "
        "'regex', 'regex~', ':', '+', '-', '*', '/', '%', '.', '[', '|'}"
    )
    assert syntax("process where length(a) = 1") == (
        "line 1:25: mismatched input '=' expecting {<EOF>, 'and', 'in', 'in~', 'like', 'like~', 'not', 'or', "
        "'regex', 'regex~', ':', '+', '-', '*', '/', '%', '|'}"
    )
    assert syntax("sequence [process where a = 1] [file where true]") == (
        "line 1:27: mismatched input '=' expecting {'and', 'in', 'in~', 'like', 'like~', 'not', 'or', 'regex', "
        "'regex~', ':', '+', '-', '*', '/', '%', '.', '[', ']'}"
    )


def test_where_an_operand_may_start_a_tilde_function_name_is_expected() -> None:
    # functionName: IDENTIFIER | TILDE_IDENTIFIER (`startsWith~(...)`), a token of Elasticsearch's lexer; obtained,
    # like the sets above, from the parser's ATN in ANTLR's interpreter
    assert syntax("process where a ==") == (
        "line 1:19: mismatched input '<EOF>' expecting {'false', 'null', 'true', '+', '-', '(', '?', STRING, "
        "INTEGER_VALUE, DECIMAL_VALUE, IDENTIFIER, QUOTED_IDENTIFIER, TILDE_IDENTIFIER}"
    )
    # not where only an event category or a pipe name may stand
    assert syntax("42 where true") == (
        "line 1:1: mismatched input '42' expecting {'any', 'join', 'sample', 'sequence', STRING, IDENTIFIER}"
    )
