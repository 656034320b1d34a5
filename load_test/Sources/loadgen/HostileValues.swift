/// The tables of hostile values the generator draws from. Each is a value a parser of untrusted input must answer
/// with a client error (or accept), never trap on, hang on or answer with a 5xx.
enum HostileValues {
    /// Timestamps for push entries, in Unix ns: the Int64 extremes and their neighbours, around zero.
    static let timestampNanos: [Int64] = [
        .min, .min + 1, .max, .max - 1, -1, 0, 1, -1_000_000_000, 4_102_444_800_000_000_000, 1 << 62,
    ]

    /// Numbers as strings, where a timestamp, a limit or a count is expected.
    static let numbers: [String] = [
        "-9223372036854775808", "-9223372036854775809", "-9223372036854775807", "9223372036854775807",
        "9223372036854775808", "9223372036854775806", "18446744073709551615", "18446744073709551616",
        "99999999999999999999", "-99999999999999999999", "1e308", "1.8e308", "-1.8e308", "1e-320", "NaN", "nan",
        "Inf", "-Inf", "+Inf", "Infinity", "10000000000.5", "9999999999", "9999999999.999999999", "-1", "0", "-0",
        "0x7fffffffffffffff", "00000000000000000000001", "1_000", " 1", "1 ", "+1", "1.5", ".5", "5.", "1e9", "1e19",
        "4294967296", "2147483648",
    ]

    /// Times and durations as the query API reads them (RFC 3339, durations with units).
    static let times: [String] = [
        "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "0000-00-00T00:00:00Z", "2024-13-45T25:61:61Z",
        "2024-01-01T00:00:00+99:99", "2024-01-01T00:00:00.9999999999999Z", "10000-01-01T00:00:00Z",
        "1677-09-21T00:12:43.145224191Z", "2262-04-11T23:47:16.854775808Z", "10000y", "99999999999999999999s",
        "-1s", "0s", "1ns", "292y", "293y", "106752d", "2562048h", "9223372036854775807ns", "1h1h1h", "1.5.5s", "s",
        "-", "1e400s",
    ]

    /// Strings that are no number at all.
    static let junk: [String] = [
        "", " ", "\u{0}", "日本語", "💥", "\u{202E}1", "%", "%zz", "%00", "null", "true", "[]", "{}", "\"", "'",
        String(repeating: "9", count: 10_000), String(repeating: "1", count: 5_000) + "s",
        String(repeating: "x", count: 20_000),
    ]

    static let directions: [String] = ["forward", "backward", "", "FORWARD", "Backward", "sideways", "0", "-1",
                                       String(repeating: "f", count: 4_000)]

    /// Label selector strings for push streams that are not a valid selector, or barely one.
    static let oddLabels: [String] = [
        "", "{}", "{", "}", "{job=\"x\"", "{=\"x\"}", "{job=\"\"}", "{job}", "{job=}", "{job=\"x\",}", "{,}",
        "{job=\"a\",job=\"b\"}", "{0job=\"x\"}", "{job-name=\"x\"}", "{job=~\"x\"}", "{job!=\"x\"}",
        "{__name__=\"x\"}", "{__tenant_id__=\"other\"}", "{job=\"\\u0000\"}", "{job=\"\\\"}", "{ job = \"x\" }",
        "{job=\"日本\"}", "{日本=\"x\"}", "job=\"x\"", "{job=\"x\"}{job=\"y\"}", "{job='x'}", "{job=`x`}",
        "{job=\"" + String(repeating: "v", count: 70_000) + "\"}",
        "{" + String(repeating: "n", count: 10_000) + "=\"x\"}",
        "{" + (0..<2_000).map { "l\($0)=\"v\"" }.joined(separator: ",") + "}",
    ]

    /// Regexes that take exponential time in a backtracking engine on a run of `a`s (or `x`s) with no match.
    static let pathologicalRegexes: [String] = [
        "(a+)+b", "(a+)+$", "^(a+)+$", "(a|aa)+$", "(a*)*b", "(x+x+)+y", "(.*)*$", "(.*a){25}", "(a|a?)+b",
        "((a+)*)+b", "(?:a+)+b", "([a-z]+)*[0-9]", "(\\w+\\s?)+$", ".*.*.*.*.*.*.*.*.*.*.*.*=.*",
    ]

    /// Repetition counts and other regex shapes that cost memory, not time.
    static let expensiveRegexes: [String] = [
        "a{1000}{1000}", "(a{1000}){1000}", "a{1001}", "a{99999999999}", "[a-z]{65535}", "(((a{100}){100}){100})",
        "a{2147483648}", "a{,5}", "a{5,1}", "\\p{Greek}+", "[[:alpha:]]{500}", "(?i)" + String(repeating: "a?", count: 500)
            + String(repeating: "a", count: 500),
        String(repeating: "(", count: 10_000) + "a" + String(repeating: ")", count: 10_000),
        String(repeating: "(", count: 100) + "a", "[", "(?P<x", "\\", "a**", "(?<!a)b", "\\1", "(?=a)",
    ]

    /// Valid LogQL queries to mutate; `SEL` is replaced by the known entries' selector.
    static let validQueries: [String] = [
        "SEL", "SEL |= \"aaaa\"", "SEL != \"x\" |~ \"a+\"", "SEL | json", "SEL | logfmt | level=\"info\"",
        "SEL | line_format \"{{.job}}\"", "SEL | label_format x=\"{{.job}}\"", "SEL | regexp \"(?P<g>a+)\"",
        "SEL | pattern \"<a> <b>\"", "count_over_time(SEL[5m])", "sum by (job) (rate(SEL[1m]))",
        "topk(3, sum by (stream) (count_over_time(SEL[1h])))", "quantile_over_time(0.99, SEL | unwrap x [5m])",
        "sum(count_over_time(SEL[1m])) / sum(count_over_time(SEL[5m]))", "SEL | decolorize", "absent_over_time(SEL[1m])",
        "sum without (a) (bytes_over_time(SEL[10m] offset 1m))", "vector(1) + vector(2)",
    ]

    /// Characters LogQL syntax is made of, for mutations.
    static let logQLAlphabet: [String] = [
        "{", "}", "(", ")", "[", "]", "\"", "`", "\\", "|", "=", "~", "!", ",", ".", "*", "+", "?", "^", "$", " ",
        "\n", "\u{0}", "a", "1", "-", "/", "by", "without", "on", "ignoring", "group_left", "unwrap", "offset", "[5m]",
        "1e308", "NaN", "日", "💥", "\u{FFFD}",
    ]

    /// `X-Scope-OrgID` values.
    static let tenants: [String] = [
        "..", ".", "/", "a/b", "../../../tmp", "a\\b", "", " ", "a b", "\t", "\u{1}", "\u{7F}", "tenant\u{0}",
        String(repeating: "t", count: 10_240), "a|b|c", String(repeating: "t|", count: 1_000) + "t", "|", "||",
        "日本", "%2e%2e", "fake", "hostile", "CON", "a:b", "*",
    ]

    static let contentTypes: [String] = [
        "", "application/x-protobuf", "application/json", "application/json; charset=utf-8",
        "application/x-protobuf; charset=utf-8", "text/plain", "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x", "application/json;;;", "application/", "/", "*/*",
        "application/grpc", String(repeating: "a", count: 5_000),
    ]

    static let contentEncodings: [String] = [
        "gzip", "deflate", "snappy", "identity", "br", "zstd", "gzip, gzip", "gzip,deflate", "x-gzip", "GZIP", "",
        "compress", String(repeating: "g", count: 5_000),
    ]
}
