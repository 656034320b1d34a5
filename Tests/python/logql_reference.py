"""A small reference evaluator for LogQL (Loki 3.x semantics), in plain Python, for the differential tests.

It does not parse LogQL: each test case writes its query twice, once as text for Estuary and once as a tree built
from the constructors below. The semantics come from Loki's documentation and source (`pkg/logql/log/*.go`,
`pkg/logql/range_vector.go`, `pkg/logql/evaluator.go`, Prometheus' `promql/engine.go` for binary operators), not
from Estuary's code. It is written to be read, not to be fast: every step is evaluated from scratch.

Timestamps are integer nanoseconds. A vector is a dict {labels (sorted tuple of pairs): float}.
"""
import bisect
import ipaddress
import json
import math
import re
from dataclasses import dataclass, field

NS = 1_000_000_000


class QueryError(Exception):
    """The query fails as a whole (Loki answers 400 with this text)."""


class Ambiguous(Exception):
    """Loki's answer depends on an order it does not define (a tie at a limit): the test case must change."""


@dataclass
class Entry:
    ts: int
    line: str
    stream: dict
    meta: dict = field(default_factory=dict)


def key(labels):
    return tuple(sorted(labels.items()))


# ---------------------------------------------------------------------------------------------------------------
# Label matchers and line filters
# ---------------------------------------------------------------------------------------------------------------

def full(regex):
    """Loki anchors label matcher and label filter regexes."""
    return re.compile(r"(?s:" + regex + r")\Z")


def matcher(name, op, value):
    if op == "=":
        return lambda labels: labels.get(name, "") == value
    if op == "!=":
        return lambda labels: labels.get(name, "") != value
    r = full(value)
    if op == "=~":
        return lambda labels: r.match(labels.get(name, "")) is not None
    if op == "!~":
        return lambda labels: r.match(labels.get(name, "")) is None
    raise ValueError(op)


class Ctx:
    """One entry going through a pipeline: its line and Loki's LabelsBuilder in miniature."""

    def __init__(self, entry):
        self.line = entry.line
        self.ts = entry.ts
        self.stream = dict(entry.stream)
        self.labels = dict(entry.stream)  # what LabelsResult() would give: stream + metadata + parsed
        for k, v in entry.meta.items():
            # LabelsBuilder.Add: structured metadata named like a stream label gets `_extracted`.
            self.labels[k + "_extracted" if k in self.stream else k] = v

    def set_parsed(self, name, value):
        """A parser's label: a name the stream already has gets `_extracted` (Loki's duplicateSuffix)."""
        if name in self.stream:
            name += "_extracted"
        self.labels[name] = value

    def has_err(self):
        return self.labels.get("__error__", "") != ""

    def set_err(self, err, details=None):
        """A later error replaces an earlier one (LabelsBuilder.SetErr)."""
        self.labels["__error__"] = err
        if details is not None:
            self.labels["__error_details__"] = details


def line_contains(*needles):
    return lambda ctx: any(n in ctx.line for n in needles)


def line_not_contains(*needles):
    return lambda ctx: not any(n in ctx.line for n in needles)


def line_regex(*patterns):
    rs = [re.compile(p) for p in patterns]
    return lambda ctx: any(r.search(ctx.line) for r in rs)


def line_not_regex(*patterns):
    rs = [re.compile(p) for p in patterns]
    return lambda ctx: not any(r.search(ctx.line) for r in rs)


def _pattern_parts(pattern):
    """`<name>` captures and literals between them."""
    parts = []
    for m in re.finditer(r"<(_|[A-Za-z_][A-Za-z0-9_]*)>|((?:(?!<(?:_|[A-Za-z_][A-Za-z0-9_]*)>).)+)", pattern, re.S):
        parts.append(("capture", m.group(1)) if m.group(1) else ("literal", m.group(2)))
    return parts


def _pattern_captures(parts, line):
    """Loki's pattern.Matcher.Matches (the `| pattern` parser): a leading literal must start the line; each capture
    takes everything up to the next literal's first occurrence; when that literal is missing, the capture takes
    the rest of the line and matching stops there. Returns [(name, value)] for the named captures."""
    if not line or not parts:
        return []
    pos, captures = 0, []
    if parts[0][0] == "literal":
        if not line.startswith(parts[0][1]):
            return []
        pos = len(parts[0][1])
        parts = parts[1:]
    while parts:
        name = parts[0][1]
        if len(parts) == 1:
            if name != "_":
                captures.append((name, line[pos:]))
            return captures
        literal = parts[1][1]
        parts = parts[2:]
        j = line.find(literal, pos)
        if j < 0:
            if name != "_":
                captures.append((name, line[pos:]))
            return captures
        if name != "_":
            captures.append((name, line[pos:j]))
        pos = j + len(literal)
    return captures


def _pattern_test(parts, line):
    """Loki's pattern.Matcher.Test (the `|>` filter): the literals in order, each after a non-empty capture; a
    pattern ending on a literal must end the line, one ending on a capture must leave something for it."""
    if not line or not parts:
        return not line and not parts
    off = 0
    for i, (kind, value) in enumerate(parts):
        if kind != "literal":
            continue
        j = line.find(value, off)
        if j < 0 or (i != 0 and j == off):
            return False
        off = j + len(value)
    ends_on_capture = parts[-1][0] == "capture"
    return ends_on_capture == (off != len(line))


def line_pattern(*patterns):
    compiled = [_pattern_parts(p) for p in patterns]
    return lambda ctx: any(_pattern_test(c, ctx.line) for c in compiled)


def line_not_pattern(*patterns):
    f = line_pattern(*patterns)
    return lambda ctx: not f(ctx)


IPV4 = re.compile(r"(?<![0-9.])(\d{1,3}(?:\.\d{1,3}){3})(?![0-9])")


def _ip_test(spec):
    if "-" in spec:
        lo, hi = (ipaddress.ip_address(p.strip()) for p in spec.split("-"))
        return lambda a: lo <= a <= hi
    if "/" in spec:
        net = ipaddress.ip_network(spec, strict=False)
        return lambda a: a in net
    one = ipaddress.ip_address(spec)
    return lambda a: a == one


def _ips_in(text):
    out = []
    for m in IPV4.finditer(text):
        try:
            out.append(ipaddress.ip_address(m.group(1)))
        except ValueError:
            pass
    return out


def line_ip(spec):
    test = _ip_test(spec)
    return lambda ctx: any(test(a) for a in _ips_in(ctx.line))


# ---------------------------------------------------------------------------------------------------------------
# Parsers
# ---------------------------------------------------------------------------------------------------------------

def sanitize(name):
    """Loki's label-name sanitising of parsed keys: invalid characters become `_`."""
    out = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if out and out[0].isdigit():
        out = "_" + out
    return out


class _Raw(str):
    """A JSON number as it is written in the line (Loki's json parser keeps the text)."""


def _loads(line):
    return json.loads(line, parse_float=_Raw, parse_int=_Raw, parse_constant=_Raw)


def _json_scalar(value):
    if isinstance(value, _Raw):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return None


_DECODER = json.JSONDecoder(parse_float=_Raw, parse_int=_Raw, parse_constant=_Raw)


def _object_each(text, pos, callback):
    """jsonparser.ObjectEach: calls callback(key, value) member by member, so the members before a syntax error
    have been seen when it raises ValueError."""
    ws = re.compile(r"[ \t\n\r]*")
    pos = ws.match(text, pos).end()
    if pos >= len(text) or text[pos] != "{":
        raise ValueError("Value looks like object, but can't find closing '}' symbol")
    pos = ws.match(text, pos + 1).end()
    if pos < len(text) and text[pos] == "}":
        return pos + 1
    while True:
        k, pos = _DECODER.raw_decode(text, pos)
        if not isinstance(k, str):
            raise ValueError("key is not a string")
        pos = ws.match(text, pos).end()
        if pos >= len(text) or text[pos] != ":":
            raise ValueError("missing ':'")
        pos = ws.match(text, pos + 1).end()
        if pos < len(text) and text[pos] == "{":
            collected = []
            pos = _object_each(text, pos, lambda kk, vv: collected.append((kk, vv)))
            v = dict(collected)
            callback(k, v)
        else:
            v, pos = _DECODER.raw_decode(text, pos)
            callback(k, v)
        pos = ws.match(text, pos).end()
        if pos < len(text) and text[pos] == ",":
            pos = ws.match(text, pos + 1).end()
            continue
        if pos < len(text) and text[pos] == "}":
            return pos + 1
        raise ValueError("Value looks like object, but can't find closing '}' symbol")


def _flatten(prefix, obj, ctx):
    for k, v in obj.items():
        _flatten_one(prefix, k, v, ctx)


def _flatten_one(prefix, k, v, ctx):
    name = sanitize(k) if not prefix else prefix + "_" + sanitize(k)
    if isinstance(v, dict):
        _flatten(name, v, ctx)
    elif isinstance(v, list) or v is None:
        return  # the plain json parser extracts neither arrays nor nulls
    else:
        ctx.set_parsed(name, _json_scalar(v))


def _json_path(path):
    """`a.b[0]["c d"]` -> ["a", "b", 0, "c d"]"""
    out = []
    for m in re.finditer(r'([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\["([^"]*)"\]', path):
        if m.group(1) is not None:
            out.append(m.group(1))
        elif m.group(2) is not None:
            out.append(int(m.group(2)))
        else:
            out.append(m.group(3))
    return out


def json_parser(**params):
    """`| json` or `| json name="path", ...`."""
    paths = {k: _json_path(v) for k, v in params.items()}

    def stage(ctx):
        if not paths:
            # Members before a syntax error are extracted, then the error is set.
            try:
                _object_each(ctx.line, 0, lambda k, v: _flatten_one("", k, v, ctx))
            except ValueError as e:
                ctx.set_err("JSONParserErr", str(e))
            return True
        if not ctx.line or ctx.line[0] not in '"{[':
            ctx.set_err("JSONParserErr")
            return True
        try:
            doc = _loads(ctx.line)
        except ValueError as e:
            ctx.set_err("JSONParserErr", str(e))
            return True
        for name, path in paths.items():
            cur = doc
            for step in path:
                if isinstance(step, int) and isinstance(cur, list) and step < len(cur):
                    cur = cur[step]
                elif isinstance(step, str) and isinstance(cur, dict) and step in cur:
                    cur = cur[step]
                else:
                    cur = None
                    break
            if isinstance(cur, (dict, list)):
                value = json.dumps(cur, separators=(",", ":"))
            else:
                value = _json_scalar(cur) or ""
            ctx.set_parsed(name, value)
        return True

    return stage


def unpack_parser():
    """Top-level string members become labels, `_entry` the line; only a packed line (one with `_entry`) gets
    labels."""
    def stage(ctx):
        if not ctx.line:
            return True
        if ctx.line[0] != "{":
            ctx.set_err("JSONParserErr", "expecting json object(3), but it is not")
            return True
        try:
            doc = _loads(ctx.line)
        except ValueError as e:
            ctx.set_err("JSONParserErr", str(e))
            return True
        entry, found = None, []
        for k, v in doc.items():
            # _Raw numbers subclass str here; only JSON strings count (jsonparser.String).
            if k == "_entry" and isinstance(v, str) and not isinstance(v, _Raw):
                entry = v
            elif isinstance(v, str) and not isinstance(v, _Raw):
                found.append((k, v))
        if entry is not None:
            for k, v in found:
                name = k + "_extracted" if k in ctx.stream else k
                ctx.labels[sanitize(name)] = v
            ctx.line = entry
        return True

    return stage


def _logfmt_pairs(line):
    """go-logfmt's scanner: key[=value] pairs separated by spaces; value quoted (Go escapes) or bare.
    Returns (pairs, error) where pairs are (key, value-or-None)."""
    pairs, i, n = [], 0, len(line)
    while i < n:
        while i < n and line[i] <= " ":
            i += 1
        if i >= n:
            break
        start = i
        while i < n and line[i] > " " and line[i] not in '="':
            i += 1
        if i < n and line[i] == '"':
            return pairs, f"logfmt syntax error at pos {i + 1} : unexpected '\"'"
        k = line[start:i]
        if i >= n or line[i] != "=":
            if not k:
                return pairs, f"logfmt syntax error at pos {i + 1} : unexpected '='"
            pairs.append((k, None))
            continue
        if not k:
            return pairs, f"logfmt syntax error at pos {i + 1} : unexpected '='"
        i += 1
        if i < n and line[i] == '"':
            j, buf = i + 1, []
            while j < n and line[j] != '"':
                if line[j] == "\\" and j + 1 < n:
                    buf.append(line[j:j + 2])
                    j += 2
                else:
                    buf.append(line[j])
                    j += 1
            if j >= n:
                return pairs, f"logfmt syntax error at pos {j + 1} : unterminated quoted value"
            raw = "".join(buf)
            pairs.append((k, json.loads('"' + raw + '"')))
            i = j + 1
        else:
            start = i
            while i < n and line[i] > " ":
                if line[i] in '="':
                    return pairs, f"logfmt syntax error at pos {i + 1} : unexpected '{line[i]}'"
                i += 1
            pairs.append((k, line[start:i]))
    return pairs, None


def logfmt_parser(strict=False, keep_empty=False, **params):
    def stage(ctx):
        pairs, err = _logfmt_pairs(ctx.line)
        if params:
            # Every named label is set, empty when the line lacks its key; the last pair of a key wins.
            found = dict(pairs)
            for name, src in params.items():
                ctx.set_parsed(name, found.get(src) or "")
            if strict and err:
                ctx.set_err("LogfmtParserErr", err)
            return True
        for k, v in pairs:
            if (v is None or v == "") and not keep_empty:
                continue
            ctx.set_parsed(sanitize(k), v or "")
        if strict and err:
            # Loki sets each pair as it reads it, then the error.
            ctx.set_err("LogfmtParserErr", err)
        return True

    return stage


def regexp_parser(regex):
    r = re.compile(regex)
    names = list(r.groupindex)

    def stage(ctx):
        m = r.search(ctx.line)
        if m:
            for n in names:
                if m.group(n) is not None:
                    ctx.set_parsed(n, m.group(n))
        return True

    return stage


def pattern_parser(pattern):
    parts = _pattern_parts(pattern)

    def stage(ctx):
        for name, value in _pattern_captures(parts, ctx.line):
            ctx.set_parsed(name, value)
        return True

    return stage


# ---------------------------------------------------------------------------------------------------------------
# Label filters: a filter returns True (keep) or False (drop); it may set an error and keep.
# ---------------------------------------------------------------------------------------------------------------

CMP = {
    "==": lambda a, b: a == b, "=": lambda a, b: a == b, "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
}

DURATION_UNITS = {"ns": 1, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}


def go_duration(text):
    """time.ParseDuration, in nanoseconds (float)."""
    m = re.fullmatch(r"([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+", text)
    if not m or text in ("", "+", "-"):
        raise ValueError(f'time: invalid duration "{text}"')
    sign = -1 if text.startswith("-") else 1
    total = 0.0
    for num, unit in re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)", text):
        total += float(num) * DURATION_UNITS[unit]
    return sign * total


BYTE_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4, "pb": 1000**5,
              "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4, "pib": 1024**5,
              "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4, "p": 1000**5,
              "ki": 1024, "mi": 1024**2, "gi": 1024**3, "ti": 1024**4, "pi": 1024**5}


def humanize_bytes(text):
    """go-humanize ParseBytes."""
    m = re.fullmatch(r"\s*([0-9.,]+)\s*([A-Za-z]*)\s*", text)
    if not m or m.group(2).lower() not in BYTE_UNITS:
        raise ValueError(f"strconv.ParseFloat: parsing {text!r}: invalid syntax")
    return float(int(float(m.group(1).replace(",", "")) * BYTE_UNITS[m.group(2).lower()]))


def go_float(text):
    try:
        return float(text)
    except ValueError:
        raise ValueError(f'strconv.ParseFloat: parsing "{text}": invalid syntax') from None


def label_str(name, op, value):
    test = matcher(name, op, value)
    return lambda ctx: test(ctx.labels)


def _numeric(name, op, value, convert):
    def f(ctx):
        # Loki's numeric, duration and bytes filters let an entry with an error through: "if there's an error only
        # the string matchers can filter it out" (NumericLabelFilter.Process and friends).
        if ctx.has_err():
            return True
        if name not in ctx.labels:
            return False
        try:
            v = convert(ctx.labels[name])
        except ValueError as e:
            if not ctx.has_err():  # an earlier, more useful error stays
                ctx.set_err("LabelFilterErr", str(e))
            return True
        return CMP[op](v, value)

    return f


def label_num(name, op, value):
    return _numeric(name, op, float(value), go_float)


def label_duration(name, op, value):
    return _numeric(name, op, go_duration(value), go_duration)


def label_bytes(name, op, value):
    return _numeric(name, op, humanize_bytes(value), humanize_bytes)


def label_ip(name, op, spec):
    test = _ip_test(spec)

    def f(ctx):
        if ctx.has_err():
            return True
        if name not in ctx.labels:
            return False  # a missing label matches neither = nor !=
        try:
            ok = test(ipaddress.ip_address(ctx.labels[name]))
        except ValueError:
            ok = False
        return ok if op == "=" else not ok

    return f


def label_and(*filters):
    return lambda ctx: all(f(ctx) for f in filters)


def label_or(*filters):
    return lambda ctx: any(f(ctx) for f in filters)


# ---------------------------------------------------------------------------------------------------------------
# Formatters and label stages. A template is a Python function of (labels, line) written next to the Go one.
# ---------------------------------------------------------------------------------------------------------------

def line_format(fn):
    def stage(ctx):
        ctx.line = fn(ctx.labels, ctx.line)
        return True

    return stage


def label_format(**assignments):
    """name=("rename", "src") or name=("template", fn(labels, line))."""

    def stage(ctx):
        values, renamed = {}, []
        for name, (kind, arg) in assignments.items():
            if kind == "rename":
                values[name] = ctx.labels.get(arg, "")
                renamed.append(arg)
            else:
                values[name] = arg(ctx.labels, ctx.line)
        for src in renamed:
            ctx.labels.pop(src, None)
        for name, v in values.items():
            ctx.labels[name] = v
        return True

    return stage


def drop(*names, matchers=()):
    tests = [(n, matcher(n, op, v)) for n, op, v in matchers]

    def stage(ctx):
        for n in names:
            ctx.labels.pop(n, None)
        for n, t in tests:
            if n in ctx.labels and t(ctx.labels):
                ctx.labels.pop(n)
        return True

    return stage


def keep(*names):
    def stage(ctx):
        for n in list(ctx.labels):
            if n not in names and n not in ("__error__", "__error_details__"):
                ctx.labels.pop(n)
        return True

    return stage


ANSI = re.compile(r"[\u001B\u009B][\[\]()#;?]*(?:(?:(?:[a-zA-Z\d]*(?:;[a-zA-Z\d]*)*)?\u0007)"
                  r"|(?:(?:\d{1,4}(?:;\d{0,4})*)?[\dA-PRZcf-ntqry=><~]))")


def decolorize():
    def stage(ctx):
        ctx.line = ANSI.sub("", ctx.line)
        return True

    return stage


# ---------------------------------------------------------------------------------------------------------------
# Log queries
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class Log:
    matchers: list  # [(name, op, value)]
    stages: list = field(default_factory=list)

    def select(self, entries):
        tests = [matcher(*m) for m in self.matchers]
        return [e for e in entries if all(t(e.stream) for t in tests)]

    def run(self, entries):
        """[(ts, line, labels)] for every entry the pipeline keeps."""
        out = []
        for e in self.select(entries):
            ctx = Ctx(e)
            if all(stage(ctx) for stage in self.stages):
                out.append((e.ts, ctx.line, ctx.labels))
        return out


def log_query(log, entries, start, end, limit, direction):
    """query_range of a log query: entries in [start, end), the `limit` first in `direction`, as
    {labels key: [(ts, line)]} with each stream in `direction` order."""
    kept = [r for r in log.run(entries) if start <= r[0] < end]
    kept.sort(key=lambda r: r[0], reverse=(direction == "backward"))
    if len(kept) > limit and kept[limit - 1][0] == kept[limit][0]:
        raise Ambiguous(f"entries tie at the limit ({kept[limit][0]})")
    kept = kept[:limit]
    streams = {}
    for ts, line, labels in kept:
        # The stream labels of a log result go through syntax.ParseLabels, which drops empty values
        # (loki#7355: an empty label is an absent label).
        labels = {k: v for k, v in labels.items() if v != ""}
        streams.setdefault(key(labels), []).append((ts, line))
    return streams


# ---------------------------------------------------------------------------------------------------------------
# Sample expressions
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class Unwrap:
    label: str
    conversion: str = ""  # "", "duration", "duration_seconds", "bytes"
    filters: list = field(default_factory=list)  # label filters after unwrap


@dataclass
class Range:
    op: str  # count_over_time, rate, bytes_over_time, bytes_rate, absent_over_time, sum_over_time, ...
    log: Log
    range: int  # ns
    offset: int = 0
    unwrap: Unwrap = None
    param: float = None
    by: list = None
    without: list = None


@dataclass
class Agg:
    op: str  # sum avg min max count stddev stdvar topk bottomk sort sort_desc
    inner: object
    by: list = None
    without: list = None
    param: float = None


@dataclass
class Bin:
    op: str
    lhs: object
    rhs: object
    bool: bool = False
    on: list = None
    ignoring: list = None
    group_left: list = None
    group_right: list = None


@dataclass
class Num:
    value: float


@dataclass
class VectorLit:
    value: float


@dataclass
class LabelReplace:
    inner: object
    dst: str
    replacement: str
    src: str
    regex: str


def _samples(r, entries):
    """[(ts, value, labels key)] of a range aggregation's log expression, cached on the node."""
    cache = getattr(r, "_cache", None)
    if cache is not None:
        return cache
    out = []
    for ts, line, labels in r.log.run(entries):
        labels = dict(labels)
        if r.unwrap is None:
            value = float(len(line.encode())) if r.op in ("bytes_over_time", "bytes_rate") else 1.0
        else:
            u = r.unwrap
            raw = labels.pop(u.label, None)
            value = 0.0
            if not raw:
                # Loki skips a line whose unwrapped label is missing or empty (loki#6713).
                continue
            if True:
                try:
                    if u.conversion in ("duration", "duration_seconds"):
                        value = go_duration(raw) / NS
                    elif u.conversion == "bytes":
                        value = humanize_bytes(raw)
                    else:
                        value = go_float(raw)
                except ValueError as e:
                    if not labels.get("__error__"):
                        labels["__error__"] = "SampleExtractionErr"
                        labels["__error_details__"] = str(e)
            ctx = _LabelsOnly(labels)
            if not all(f(ctx) for f in u.filters):
                continue
            labels = ctx.labels
        if r.by is not None:
            labels = {k: v for k, v in labels.items() if k in r.by or k in ("__error__", "__error_details__")}
        elif r.without is not None:
            labels = {k: v for k, v in labels.items() if k not in r.without}
        out.append((ts, value, key(labels)))
    out.sort(key=lambda s: s[0])
    r._cache = (out, [s[0] for s in out])
    return r._cache


class _LabelsOnly:
    def __init__(self, labels):
        self.labels = labels
        self.line = ""

    def set_err(self, err, details=None):
        if not self.labels.get("__error__"):
            self.labels["__error__"] = err
            if details is not None:
                self.labels["__error_details__"] = details


def _quantile(q, values):
    if not values:
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    values = sorted(values)
    n = len(values)
    rank = q * (n - 1)
    lo = max(0, math.floor(rank))
    hi = min(n - 1, lo + 1)
    w = rank - math.floor(rank)
    return values[lo] * (1 - w) + values[hi] * w


def _stdvar(values):
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / len(values)


def _rate_counter(points, rng, end):
    """Prometheus' extrapolatedRate(isCounter, isRate) over the window (end - range, end]. Loki's copy
    (range_vector.go) mixes nanosecond sample times with a millisecond range and takes the last sample as the
    window's end, so it never extrapolates to the window's edges; Estuary does what Prometheus does (see
    docs/backend.md), and so does this reference. Fewer than two samples give no sample."""
    if len(points) < 2:
        return None
    range_start = end - rng
    result = points[-1][1] - points[0][1]
    last = points[0][1]
    for _, v in points[1:]:
        if v < last:
            result += last
        last = v
    to_start = (points[0][0] - range_start) / NS
    to_end = (end - points[-1][0]) / NS
    sampled = (points[-1][0] - points[0][0]) / NS
    if sampled <= 0:
        return None
    avg = sampled / (len(points) - 1)
    if result > 0 and points[0][1] >= 0:
        to_zero = sampled * (points[0][1] / result)
        if to_zero < to_start:
            to_start = to_zero
    threshold = avg * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else avg / 2
    interval += to_end if to_end < threshold else avg / 2
    result = result * (interval / sampled)
    return result / (rng / NS)


def _range_value(op, points, r, end):
    values = [v for _, v in points]
    secs = r.range / NS
    if op == "count_over_time":
        return float(len(values))
    if op == "rate":
        return (sum(values) if r.unwrap else len(values)) / secs
    if op in ("bytes_over_time", "sum_over_time"):
        return sum(values)
    if op == "bytes_rate":
        return sum(values) / secs
    if op == "avg_over_time":
        return sum(values) / len(values)
    if op == "min_over_time":
        return min(values)
    if op == "max_over_time":
        return max(values)
    if op == "stdvar_over_time":
        return _stdvar(values)
    if op == "stddev_over_time":
        return math.sqrt(_stdvar(values))
    if op == "quantile_over_time":
        return _quantile(r.param, values)
    if op == "first_over_time":
        return values[0]
    if op == "last_over_time":
        return values[-1]
    if op == "rate_counter":
        return _rate_counter(points, r.range, end)
    raise ValueError(op)


def absent_labels(log):
    """Loki's absentLabels: the equality matchers of the selector, minus names matched more than once or
    otherwise."""
    out, other = {}, set()
    for name, op, value in log.matchers:
        if op == "=" and name not in out:
            out[name] = value
        else:
            other.add(name)
    return {k: v for k, v in out.items() if k not in other}


def _eval_range(r, entries, t):
    samples, times = _samples(r, entries)
    hi_t = t - r.offset
    lo = bisect.bisect_right(times, hi_t - r.range)  # the lower bound is exclusive
    hi = bisect.bisect_right(times, hi_t)
    window = samples[lo:hi]
    if r.op == "absent_over_time":
        return {} if window else {key(absent_labels(r.log)): 1.0}
    series = {}
    for ts, v, lk in window:
        if dict(lk).get("__error__"):
            raise QueryError(f"pipeline error: '{dict(lk)['__error__']}'")
        series.setdefault(lk, []).append((ts, v))
    values = {lk: _range_value(r.op, pts, r, hi_t) for lk, pts in series.items()}
    return {lk: v for lk, v in values.items() if v is not None}


def _group_key(lk, by, without):
    labels = dict(lk)
    if by is not None:
        return key({k: v for k, v in labels.items() if k in by})
    if without is not None:
        return key({k: v for k, v in labels.items() if k not in without})
    return ()


def _topk(a, vector):
    k = int(a.param)
    groups = {}
    for lk, v in vector.items():
        groups.setdefault(_group_key(lk, a.by, a.without), []).append((lk, v))
    out = {}
    for members in groups.values():
        desc = a.op == "topk"
        members.sort(key=lambda m: m[1], reverse=desc)
        if len(members) > k and members[k - 1][1] == members[k][1]:
            raise Ambiguous(f"{a.op} ties at k={k}")
        out.update(members[:k])
    return out


def _eval_agg(a, entries, t):
    vector = evaluate(a.inner, entries, t)
    if isinstance(vector, float):
        raise ValueError("aggregation of a scalar")
    if a.op in ("topk", "bottomk"):
        return _topk(a, vector)
    if a.op in ("sort", "sort_desc"):
        return vector  # order is checked by the caller
    groups = {}
    for lk, v in vector.items():
        groups.setdefault(_group_key(lk, a.by, a.without), []).append(v)
    out = {}
    for gk, values in groups.items():
        if a.op == "sum":
            out[gk] = math.fsum(values)
        elif a.op == "avg":
            out[gk] = math.fsum(values) / len(values)
        elif a.op == "min":
            out[gk] = min(values)
        elif a.op == "max":
            out[gk] = max(values)
        elif a.op == "count":
            out[gk] = float(len(values))
        elif a.op == "stdvar":
            out[gk] = _stdvar(values)
        elif a.op == "stddev":
            out[gk] = math.sqrt(_stdvar(values))
        else:
            raise ValueError(a.op)
    return out


def _arith(op, a, b):
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            if b == 0:
                return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * math.copysign(1, b)
            return a / b
        if op == "%":
            return math.fmod(a, b) if b != 0 else math.nan
        if op == "^":
            return math.pow(a, b)
    except (OverflowError, ValueError):
        return math.inf if op in ("^", "*") else math.nan
    raise ValueError(op)


COMPARISONS = {"==", "!=", ">", "<", ">=", "<="}


def _compare(op, a, b):
    return CMP[op](a, b)


def _signature(lk, on, ignoring):
    labels = dict(lk)
    if on is not None:
        return key({k: v for k, v in labels.items() if k in on})
    drop = set(ignoring or [])
    return key({k: v for k, v in labels.items() if k not in drop})


def _eval_bin(b, entries, t):
    lhs = evaluate(b.lhs, entries, t)
    rhs = evaluate(b.rhs, entries, t)
    op = b.op
    if isinstance(lhs, float) and isinstance(rhs, float):
        if op in COMPARISONS:
            return 1.0 if _compare(op, lhs, rhs) else 0.0
        return _arith(op, lhs, rhs)
    if isinstance(lhs, float) or isinstance(rhs, float):
        scalar_left = isinstance(lhs, float)
        vector = rhs if scalar_left else lhs
        out = {}
        for lk, v in vector.items():
            a, c = (lhs, v) if scalar_left else (v, rhs)
            if op in COMPARISONS:
                ok = _compare(op, a, c)
                if b.bool:
                    out[lk] = 1.0 if ok else 0.0
                elif ok:
                    out[lk] = v
            else:
                out[lk] = _arith(op, a, c)
        return out
    if op in ("and", "or", "unless"):
        rsigs = {_signature(lk, b.on, b.ignoring) for lk in rhs}
        if op == "and":
            return {lk: v for lk, v in lhs.items() if _signature(lk, b.on, b.ignoring) in rsigs}
        if op == "unless":
            return {lk: v for lk, v in lhs.items() if _signature(lk, b.on, b.ignoring) not in rsigs}
        lsigs = {_signature(lk, b.on, b.ignoring) for lk in lhs}
        out = dict(lhs)
        for lk, v in rhs.items():
            if _signature(lk, b.on, b.ignoring) not in lsigs:
                out[lk] = v
        return out
    # vector op vector (Prometheus' VectorBinop)
    many, one, flipped, include = lhs, rhs, False, b.group_left
    if b.group_right is not None:
        many, one, flipped, include = rhs, lhs, True, b.group_right
    one_by_sig = {}
    for lk, v in one.items():
        sig = _signature(lk, b.on, b.ignoring)
        if sig in one_by_sig:
            raise QueryError("found duplicate series for the match group")
        one_by_sig[sig] = (lk, v)
    out, seen = {}, set()
    for lk, v in many.items():
        sig = _signature(lk, b.on, b.ignoring)
        if sig not in one_by_sig:
            continue
        if include is None:
            if sig in seen:
                raise QueryError("multiple matches for labels: many-to-one matching must be explicit "
                                 "(group_left/group_right)")
            seen.add(sig)
        olk, ov = one_by_sig[sig]
        a, c = (ov, v) if flipped else (v, ov)
        if op in COMPARISONS:
            ok = _compare(op, a, c)
            if not b.bool and not ok:
                continue
            value = (1.0 if ok else 0.0) if b.bool else v
        else:
            value = _arith(op, a, c)
        labels = dict(lk)
        if include is None:
            if b.on is not None:
                labels = {k: x for k, x in labels.items() if k in b.on}
            else:
                labels = {k: x for k, x in labels.items() if k not in set(b.ignoring or [])}
        else:
            other = dict(olk)
            for name in include:
                if name in other and other[name] != "":
                    labels[name] = other[name]
                else:
                    labels.pop(name, None)
        rk = key(labels)
        if rk in out:
            raise QueryError("vector cannot contain metrics with the same labelset")
        out[rk] = value
    return out


def _label_replace(lr, entries, t):
    vector = evaluate(lr.inner, entries, t)
    r = full(lr.regex)
    out = {}
    for lk, v in vector.items():
        labels = dict(lk)
        m = r.match(labels.get(lr.src, ""))
        if m:
            value = re.sub(r"\$\{?(\w+)\}?", lambda g: m.group(int(g.group(1)) if g.group(1).isdigit()
                                                                 else g.group(1)) or "", lr.replacement)
            if value:
                labels[lr.dst] = value
            else:
                labels.pop(lr.dst, None)
        out[key(labels)] = v
    return out


def evaluate(expr, entries, t):
    """The value of a sample expression at time t: a vector (dict) or a scalar (float)."""
    if isinstance(expr, Num):
        return float(expr.value)
    if isinstance(expr, VectorLit):
        return {(): float(expr.value)}
    if isinstance(expr, Range):
        return _eval_range(expr, entries, t)
    if isinstance(expr, Agg):
        return _eval_agg(expr, entries, t)
    if isinstance(expr, Bin):
        return _eval_bin(expr, entries, t)
    if isinstance(expr, LabelReplace):
        return _label_replace(expr, entries, t)
    raise TypeError(expr)


def steps(start, end, step):
    t, out = start, []
    while t <= end:
        out.append(t)
        t += step
    return out


def range_query(expr, entries, start, end, step):
    """query_range of a sample expression: {labels key: [(t, value)]} (a scalar is one series with no labels)."""
    matrix = {}
    for t in steps(start, end, step):
        value = evaluate(expr, entries, t)
        if isinstance(value, float):
            value = {(): value}
        for lk, v in value.items():
            matrix.setdefault(lk, []).append((t, v))
    return matrix


def instant_query(expr, entries, t):
    """query at time t: ("scalar", value) or ("vector", [(labels key, value)]) in Loki's order for sort and
    sort_desc, by labels otherwise."""
    value = evaluate(expr, entries, t)
    if isinstance(value, float):
        return "scalar", value
    items = sorted(value.items())
    if isinstance(expr, Agg) and expr.op in ("sort", "sort_desc"):
        items.sort(key=lambda kv: kv[1], reverse=(expr.op == "sort_desc"))
        for a, b in zip(items, items[1:]):
            if a[1] == b[1]:
                raise Ambiguous("sort ties")
    return "vector", items
