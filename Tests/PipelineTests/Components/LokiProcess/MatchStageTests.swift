import Testing
import TestSupport
@testable import Pipeline
import Wire

@Suite struct MatchSelectorTests {
    static func entry(_ line: String, _ labels: [String: String]) -> LogEntry {
        LogEntry(timestamp: 1, line: Array(line.utf8), labels: LabelSet(labels.map { LabelPair(name: $0.key, value: $0.value) }))
    }

    @Test(arguments: [
        (#"{app="web"}"#, "x", ["app": "web"], true),
        (#"{app="web"}"#, "x", ["app": "db"], false),
        (#"{app!="web"}"#, "x", ["app": "db"], true),
        (#"{app=~"we.*"}"#, "x", ["app": "web"], true),
        (#"{app=~"e"}"#, "x", ["app": "web"], false),  // label regexes are anchored
        (#"{app!~"db|cache"}"#, "x", ["app": "web"], true),
        (#"{missing=""}"#, "x", ["app": "web"], true),  // an absent label is the empty string
        (#"{app="web", env="prod"}"#, "x", ["app": "web", "env": "dev"], false),
        (#"{app="web"} |= "timeout""#, "request timeout after 3s", ["app": "web"], true),
        (#"{app="web"} |= "timeout" != "healthcheck""#, "healthcheck timeout", ["app": "web"], false),
        (#"{app="web"} |~ `status=5\d\d`"#, "status=503 path=/", ["app": "web"], true),
        (#"{app="web"} |~ "status=5\\d\\d""#, "status=503 path=/", ["app": "web"], true),
        (#"{app="web"} !~ "level=(debug|info)""#, "level=warn msg=x", ["app": "web"], true),
        ("{app=`web`} |= `a\\b`", "x a\\b y", ["app": "web"], true),  // raw strings
    ])
    func matches(selector: String, line: String, labels: [String: String], expected: Bool) throws {
        #expect(try MatchSelector(selector).matches(Self.entry(line, labels)) == expected)
    }

    @Test(arguments: [
        ("app=\"web\"", "a selector starts with"),
        ("{}", "at least one label matcher"),
        ("{app}", "expected =, !=, =~ or !~"),
        ("{app=web}", "expected a quoted string"),
        ("{app=\"web\"", "expected \",\" or \"}\""),
        ("{app=\"web\"} | json", "expected a line filter"),
        ("{app=~\"(\"}", "missing closing )"),
        ("{app=\"unterminated}", "unterminated string"),
    ])
    func malformedSelectorsAreRefused(selector: String, message: String) {
        do {
            _ = try MatchSelector(selector)
            Issue.record("accepted \(selector)")
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test func randomSelectorsNeverCrash() {
        var random = SeededRandom(seed: 17)
        let pieces = ["{", "}", "app", "=", "!=", "=~", "!~", "\"web\"", "`x`", ",", " ", "|=", "|~", "\"(a|b)\"", "\"\\\"", "\""]
        for _ in 0..<5_000 {
            let text = (0..<Int(random.next() % 10)).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined()
            if let selector = try? MatchSelector(text) { _ = selector.matches(Self.entry("web a b", ["app": "web"])) }
        }
    }
}
