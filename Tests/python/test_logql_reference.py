"""The reference evaluator against answers taken from Loki's documentation and its own tests, so that a
disagreement in the differential suite points at Estuary rather than at the reference."""
import math

import pytest

import logql_reference as R

NS = R.NS


def labels_after(stages, line, stream=None, meta=None):
    ctx = R.Ctx(R.Entry(0, line, stream or {"app": "x"}, meta or {}))
    assert all(stage(ctx) for stage in stages)
    return ctx.labels, ctx.line


def test_json_flattens_objects_skips_arrays_and_suffixes_stream_names():
    # Loki's docs (json parser): nested keys joined with `_`, arrays skipped.
    line = ('{"protocol":"HTTP/2.0","servers":["129.0.1.1","10.2.1.3"],"request":{"time":"6.032","method":"GET",'
            '"host":"foo.grafana.net","size":"55","headers":{"Accept":"*/*","User-Agent":"curl/7.68.0"}},'
            '"response":{"status":401,"size":"228","latency_seconds":"6.031"},"app":"y","ok":true,"n":null}')
    labels, _ = labels_after([R.json_parser()], line)
    assert labels == {
        "app": "x", "app_extracted": "y", "protocol": "HTTP/2.0", "request_time": "6.032", "request_method": "GET",
        "request_host": "foo.grafana.net", "request_size": "55", "request_headers_Accept": "*/*",
        "request_headers_User_Agent": "curl/7.68.0", "response_status": "401", "response_size": "228",
        "response_latency_seconds": "6.031", "ok": "true"}


def test_json_keeps_members_read_before_a_syntax_error():
    labels, _ = labels_after([R.json_parser()], '{"level":"error","msg":"trunc')
    assert labels["level"] == "error" and labels["__error__"] == "JSONParserErr"


def test_json_expressions():
    line = '{"a":{"b":[{"c":1.50},"x"]},"s":"t\\"q"}'
    labels, _ = labels_after([R.json_parser(c="a.b[0].c", x="a.b[1]", s="s", missing="nope")], line)
    assert labels == {"app": "x", "c": "1.50", "x": "x", "s": 't"q', "missing": ""}


def test_logfmt_strict_and_keep_empty():
    line = 'a=1 b="two words" flag c= d="unterminated'
    labels, _ = labels_after([R.logfmt_parser()], line)
    assert labels == {"app": "x", "a": "1", "b": "two words"}
    labels, _ = labels_after([R.logfmt_parser(keep_empty=True)], line)
    assert labels == {"app": "x", "a": "1", "b": "two words", "flag": "", "c": ""}
    labels, _ = labels_after([R.logfmt_parser(strict=True)], line)
    assert labels["__error__"] == "LogfmtParserErr" and labels["b"] == "two words"


def test_pattern_parser_and_filter():
    # Loki's docs: `<ip> - - <_> "<method> <uri> <_>" <status> <size> <_> "<agent>" <_>`
    line = ('0.191.12.2 - - [10/Jun/2021:09:14:29 +0000] "GET /api/plugins/versioncheck HTTP/1.1" 200 2 "-" '
            '"Go-http-client/2.0" "13.76.247.102, 34.120.177.193" "TLSv1.2" "US" ""')
    labels, _ = labels_after([R.pattern_parser('<ip> - - <_> "<method> <uri> <_>" <status> <size> <_> "<agent>" <_>')],
                             line)
    assert labels == {"app": "x", "ip": "0.191.12.2", "method": "GET", "uri": "/api/plugins/versioncheck",
                      "status": "200", "size": "2", "agent": "Go-http-client/2.0"}
    # Loki's Matcher.Test examples: "foo bar baz" does not match "<_> bar" but matches "<_> baz" and "foo <_>";
    # " bar " does not match "<_> bar <_>" but matches "<_>bar<_>".
    test = lambda p, text: R._pattern_test(R._pattern_parts(p), text)
    assert not test("<_> bar", "foo bar baz")
    assert test("<_> baz", "foo bar baz") and test("foo <_>", "foo bar baz")
    assert not test("<_> bar <_>", " bar ") and test("<_>bar<_>", " bar ")


def test_units():
    assert R.go_duration("1h2m3.5s") == 3723.5 * NS
    assert R.go_duration("250us") == 250_000
    assert R.humanize_bytes("1.5KiB") == 1536 and R.humanize_bytes("2KB") == 2000 and R.humanize_bytes("42") == 42
    with pytest.raises(ValueError, match=r'^strconv.ParseFloat: parsing "12ms": invalid syntax$'):
        R.go_float("12ms")


def test_range_functions():
    r = R.Range("quantile_over_time", None, 60 * NS, param=0.9)
    # Prometheus' quantile: rank q*(n-1) interpolated.
    assert R._range_value("quantile_over_time", [(0, v) for v in [1, 2, 3, 4, 10]], r, 0) == pytest.approx(7.6)
    assert R._quantile(1.5, [1.0]) == math.inf and R._quantile(-1, [1.0]) == -math.inf
    assert R._stdvar([2, 4, 4, 4, 5, 5, 7, 9]) == 4.0


def test_binary_operator_matching(monkeypatch):
    evaluate = R.evaluate
    monkeypatch.setattr(R, "evaluate",
                        lambda e, entries, t: e.vector if isinstance(e, _Const) else evaluate(e, entries, t))
    lhs = {(("a", "1"), ("b", "x")): 10.0, (("a", "1"), ("b", "y")): 20.0, (("a", "2"), ("b", "x")): 30.0}
    rhs = {(("a", "1"), ("c", "k")): 2.0, (("a", "2"), ("c", "j")): 3.0}
    expr = R.Bin("/", R.VectorLit(0), R.VectorLit(0), on=["a"], group_left=["c"])
    expr.lhs, expr.rhs = _Const(lhs), _Const(rhs)
    got = R._eval_bin(expr, [], 0)
    assert got == {(("a", "1"), ("b", "x"), ("c", "k")): 5.0, (("a", "1"), ("b", "y"), ("c", "k")): 10.0,
                   (("a", "2"), ("b", "x"), ("c", "j")): 10.0}
    one = R.Bin("-", _Const(rhs), _Const({(("a", "1"),): 1.0}), on=["a"])
    assert R._eval_bin(one, [], 0) == {(("a", "1"),): 1.0}


class _Const:
    def __init__(self, vector):
        self.vector = vector
