import Testing
import TestSupport
@testable import Backend

@Suite struct LogQLParserTests {
    private func parse(_ query: String) throws -> LogQLExpression {
        try LogQLParser.parse(query)
    }

    private func failure(_ query: String) -> LogQLError? {
        do {
            _ = try LogQLParser.parse(query)
            return nil
        } catch {
            return error
        }
    }

    private func sample(_ query: String) throws -> SampleExpression {
        guard case .sample(let sample) = try parse(query) else {
            Issue.record("\(query) is not a metric query")
            return .literal(.nan)
        }
        return sample
    }

    /// Every construct of the grammar: printing the tree and parsing the text gives the same tree.
    static let everyConstruct = [
        #"{app="api"}"#,
        #"{app="api", env=~"prod|staging", team!="x", zone!~"eu-.*"} |= "error" != "timeout" |~ "5.." !~ "debug""#,
        #"{app="api"} |= "a" or "b" != "c" |> "<_> error <_>" !> "<_> ok""#,
        #"{app="api"} |= ip("10.0.0.0/8") != ip("192.168.0.1")"#,
        #"{app="api"} | json"#,
        #"{app="api"} | json status="response.status", first="items[0]", nested=`a["b.c"]`"#,
        #"{app="api"} | logfmt"#,
        #"{app="api"} | logfmt --strict --keep-empty"#,
        #"{app="api"} | logfmt --strict level, msg="message""#,
        #"{app="api"} | regexp "(?P<method>\\w+) (?P<path>\\S+)""#,
        #"{app="api"} | pattern "<ip> - <_> <status>""#,
        #"{app="api"} | unpack"#,
        #"{app="api"} | line_format "{{.level}}: {{.msg | ToUpper}}""#,
        #"{app="api"} | label_format dst=src, tmpl="{{.a}}-{{.b}}""#,
        #"{app="api"} | decolorize"#,
        #"{app="api"} | drop a, b="x", c=~"y.*""#,
        #"{app="api"} | keep a, b!="x""#,
        #"{app="api"} | logfmt | level="error" and status >= 500 or duration > 1.5s"#,
        #"{app="api"} | logfmt | (level="error" or level="warn"), size > 10KB | latency <= 250ms"#,
        #"{app="api"} | json | status == 200 | status != 404 | code < -1 | ratio >= 0.5"#,
        #"{app="api"} | json | addr = ip("10.0.0.0/8") | addr != ip("10.1.1.1")"#,
        #"{app="api"} | logfmt | __error__="""#,
        #"count_over_time({app="api"}[5m])"#,
        #"rate({app="api"} |= "error"[1m] offset 1h)"#,
        #"bytes_over_time({app="api"}[1h30m])"#,
        #"bytes_rate({app="api"} | json[2d])"#,
        #"absent_over_time({app="api"}[1w])"#,
        #"sum_over_time({app="api"} | logfmt | unwrap bytes_sent[5m])"#,
        #"avg_over_time({app="api"} | logfmt | unwrap duration(latency) | __error__=""[5m]) by (path)"#,
        #"max_over_time({app="api"} | unwrap duration_seconds(latency)[5m]) without (pod)"#,
        #"min_over_time({app="api"} | json | unwrap bytes(size)[1m])"#,
        #"stddev_over_time({app="api"} | unwrap x[1m])"#,
        #"stdvar_over_time({app="api"} | unwrap x[1m])"#,
        #"quantile_over_time(0.99, {app="api"} | logfmt | unwrap latency[5m]) by (path)"#,
        #"first_over_time({app="api"} | unwrap x[1m])"#,
        #"last_over_time({app="api"} | unwrap x[1m])"#,
        #"rate_counter({app="api"} | unwrap requests[5m])"#,
        #"rate({app="api"} | unwrap x[1m])"#,
        #"sum(count_over_time({app="api"}[1m]))"#,
        #"sum by (level) (count_over_time({app="api"} | logfmt[1m]))"#,
        #"avg without (pod) (rate({app="api"}[1m]))"#,
        #"topk(5, sum by (path) (rate({app="api"}[5m])))"#,
        #"bottomk(2, count_over_time({app="api"}[5m]))"#,
        #"count(max(min(stddev(stdvar(rate({app="api"}[5m]))))))"#,
        #"sort(rate({app="api"}[5m]))"#,
        #"sort_desc(rate({app="api"}[5m]))"#,
        #"sum(rate({app="api"}[1m])) / sum(rate({app="web"}[1m])) * 100"#,
        #"rate({app="api"}[1m]) > bool 2"#,
        #"rate({app="api"}[1m]) >= 2 and rate({app="web"}[1m]) unless rate({app="db"}[1m]) or vector(0)"#,
        #"sum by (a, b) (rate({app="api"}[1m])) / on (a) group_left (c) sum by (a, c) (rate({app="web"}[1m]))"#,
        #"rate({app="api"}[1m]) - ignoring (pod) group_right rate({app="web"}[1m])"#,
        #"2 ^ 3 ^ 2"#,
        #"vector(1) + vector(1)"#,
        #"-1.5"#,
        #"label_replace(rate({app="api"}[1m]), "dst", "$1-x", "src", "(.*)")"#,
        #"(sum(rate({app="api"}[1m])) % 7) == bool 1"#,
    ]

    @Test(arguments: everyConstruct)
    func printedQueriesParseToTheSameTree(query: String) throws {
        let tree = try parse(query)
        let printed = tree.description
        let again = try parse(printed)
        #expect(again == tree, "\(query) printed as \(printed)")
        #expect(again.description == printed)
    }

    @Test func binaryOperatorsFollowPrometheusPrecedence() throws {
        let query = #"rate({a="b"}[1m]) + rate({a="c"}[1m]) * rate({a="d"}[1m]) > bool 1 or vector(1) and vector(2)"#
        guard case .binary(let top) = try sample(query) else { Issue.record("not binary"); return }
        #expect(top.op == .or)
        guard case .binary(let comparison) = top.lhs else { Issue.record("lhs not binary"); return }
        #expect(comparison.op == .greater && comparison.returnBool)
        guard case .binary(let sum) = comparison.lhs, case .binary(let product) = sum.rhs else {
            Issue.record("not a sum of a product"); return
        }
        #expect(sum.op == .add && product.op == .multiply)
        guard case .binary(let and) = top.rhs else { Issue.record("rhs not binary"); return }
        #expect(and.op == .and)
    }

    @Test func powerIsRightAssociativeAndLiteralsFold() throws {
        #expect(try sample("2 ^ 3 ^ 2") == .literal(512))
        #expect(try sample("10 - 4 - 3") == .literal(3))
        #expect(try sample("1 + 2 * 3") == .literal(7))
        #expect(try sample("(1 + 2) * 3") == .literal(9))
        #expect(try sample("7 % 4") == .literal(3))
        #expect(try sample("1 == bool 1") == .literal(1))
        #expect(try sample("-2") == .literal(-2))
    }

    @Test func labelFiltersBindAndTighterThanOr() throws {
        guard case .log(let log) = try parse(#"{a="b"} | x="1" or y="2" z="3", w="4""#),
              case .labelFilter(let filter) = log.stages.first
        else { Issue.record("no label filter"); return }
        let x = LabelFilterExpression.string(try LabelMatcher(name: "x", kind: .equal, value: "1"))
        let y = LabelFilterExpression.string(try LabelMatcher(name: "y", kind: .equal, value: "2"))
        let z = LabelFilterExpression.string(try LabelMatcher(name: "z", kind: .equal, value: "3"))
        let w = LabelFilterExpression.string(try LabelMatcher(name: "w", kind: .equal, value: "4"))
        #expect(filter == .or(x, .and(.and(y, z), w)))
    }

    @Test func unitsAreRead() throws {
        guard case .log(let log) = try parse(#"{a="b"} | d > 1m30s | s >= 1.5KiB | t < 2KB | n == 3"#) else {
            Issue.record("not a log query"); return
        }
        let filters = log.stages.compactMap { stage -> LabelFilterExpression? in
            if case .labelFilter(let filter) = stage { return filter }
            return nil
        }
        #expect(filters == [
            .duration(name: "d", .greater, 90_000_000_000), .bytes(name: "s", .greaterOrEqual, 1536),
            .bytes(name: "t", .less, 2000), .number(name: "n", .equal, 3),
        ])
    }

    @Test func rangeAggregationParts() throws {
        guard case .range(let range) = try sample(
            #"quantile_over_time(0.9, {a="b"} | json | unwrap duration(latency) | __error__="" [5m] offset 10m) by (path)"#)
        else { Issue.record("not a range aggregation"); return }
        #expect(range.operation == .quantileOverTime)
        #expect(range.parameter == 0.9)
        #expect(range.range == 300_000_000_000)
        #expect(range.offset == 600_000_000_000)
        #expect(range.unwrap?.label == "latency")
        #expect(range.unwrap?.conversion == .duration)
        #expect(range.unwrap?.filters.count == 1)
        #expect(range.grouping == Grouping(without: false, labels: ["path"]))
        #expect(range.log.stages == [.json([])])
        // The range may come before the unwrap, and the log part may be parenthesised.
        #expect(try sample(#"sum_over_time({a="b"}[5m] | unwrap x)"#)
            == sample(#"sum_over_time({a="b"} | unwrap x[5m])"#))
        #expect(try sample(#"count_over_time(({a="b"} |= "x")[5m])"#)
            == sample(#"count_over_time({a="b"} |= "x"[5m])"#))
    }

    @Test(arguments: [
        (#"sum_over_time({a="b"}[5m])"#, "invalid aggregation sum_over_time without unwrap"),
        (#"count_over_time({a="b"} | unwrap x[5m])"#, "invalid aggregation count_over_time with unwrap"),
        (#"count_over_time({a="b"}[5m]) by (x)"#, "grouping not allowed for count_over_time aggregation"),
        (#"quantile_over_time({a="b"} | unwrap x[5m])"#, "parameter required for operation quantile_over_time"),
        (#"topk(sum(rate({a="b"}[1m])))"#, "parameter required for operation topk"),
        (#"sum(3, rate({a="b"}[1m]))"#, "unsupported parameter for operation sum(3,"),
        ("1 > 2", "comparisons between scalars must use BOOL modifier"),
        ("1 and 2", "operator \"and\" not allowed in binary scalar expression"),
        (#"rate({a=""}[1m])"#, LogQLError.emptyCompatibleMatchers),
        (#"label_replace(rate({a="b"}[1m]), "1x", "", "a", "(.*)")"#, "invalid destination label name in label_replace(): 1x"),
        (#"{a="b"} | label_format x=y, x=z"#, "multiple label name 'x' appears in one label_format"),
    ])
    func semanticErrorsUseLokisWording(query: String, message: String) {
        let error = failure(query)
        #expect(error?.description == "parse error : \(message)", "\(query)")
    }

    @Test(arguments: [
        (#"rate({a="b"})"#, 1, 13, "syntax error: unexpected ), expecting RANGE"),
        (#"{a="b"} | unwrap x"#, 1, 11, "syntax error: unexpected unwrap"),
        (#"sum(rate({a="b"}[1m])"#, 1, 22, "syntax error: unexpected $end, expecting )"),
        (#"{a="b"} | json |"#, 1, 17, "syntax error: unexpected $end"),
        (#"{a="b"} | x >"#, 1, 14, "syntax error: unexpected $end, expecting STRING or NUMBER or DURATION or BYTES"),
        (#"vector("x")"#, 1, 8, "syntax error: unexpected STRING, expecting NUMBER"),
    ])
    func syntaxErrorsCarryPositions(query: String, line: Int, column: Int, message: String) {
        let error = failure(query)
        #expect(error?.line == line, "\(query)")
        #expect(error?.column == column, "\(query)")
        #expect(error?.message == message, "\(query)")
    }

    @Test func logLegsOfBinaryOperationsAreRefused() {
        #expect(failure(#"{a="b"} or {c="d"}"#)?.message.hasPrefix("unexpected type for left leg of binary operation (or)") == true)
        #expect(failure(#"rate({a="b"}[1m]) + {c="d"}"#)?.message.hasPrefix("unexpected type for right leg") == true)
    }

    /// Random edits of valid queries and random token soups: the parser returns or throws, never traps or hangs,
    /// and whatever it accepts prints to text that parses to the same tree.
    @Test func fuzzedQueriesOnlyThrowAndAcceptedOnesRoundTrip() {
        var generator = SeededRandom(seed: FuzzBudget.seed(0x109_0_2))
        let pieces = ["{", "}", "=", "!=", "=~", "!~", "|=", "|~", "|>", "!>", "|", ",", "\"", "`", "\\", " ", "or",
                      "and", "unless", "a", "x", "5m", "[1m]", "[", "]", "(", ")", "*", "+", "-", "/", "^", "%", ">",
                      ">=", "==", "bool", "on", "ignoring", "group_left", "by", "without", "json", "logfmt",
                      "unwrap", "rate(", "sum", "topk(", "vector(", "1", "0.5", "1e3", "0x1f", "--strict", "ip(",
                      "offset", "10KB", "250ms", "label_replace(", "日", "\u{0}", "#"]
        var accepted = 0
        for round in 0..<FuzzBudget.scaled(6000) {
            var query: String
            if round % 4 == 0 {
                query = (0..<Int.random(in: 0...20, using: &generator)).map { _ in
                    pieces.randomElement(using: &generator) ?? ""
                }.joined()
            } else {
                var characters = Array(Self.everyConstruct[round % Self.everyConstruct.count])
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    let position = Int.random(in: 0...characters.count, using: &generator)
                    let piece = Array(pieces.randomElement(using: &generator) ?? "")
                    if Bool.random(using: &generator) || characters.isEmpty {
                        characters.insert(contentsOf: piece, at: position)
                    } else {
                        characters.removeSubrange(min(position, characters.count - 1)..<min(position + 2, characters.count))
                    }
                }
                query = String(characters)
            }
            do {
                let tree = try LogQLParser.parse(query)
                accepted += 1
                let again = try? LogQLParser.parse(tree.description)
                #expect(again == tree, "\(query) printed as \(tree.description)")
            } catch {
                #expect(!error.description.isEmpty)
            }
        }
        #expect(accepted > 0)
    }
}
