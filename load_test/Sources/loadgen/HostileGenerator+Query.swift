import Foundation
import Wire

/// Hostile query parameters and LogQL strings for the backend's query API.
extension HostileGenerator {
    /// Percent-encodes every byte outside RFC 3986's unreserved set.
    static func encodeComponent(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(hex[Int(byte >> 4)])
                out.unicodeScalars.append(hex[Int(byte & 0x0F)])
            }
        }
        return out
    }

    /// One hostile value for a time, duration, number or direction parameter.
    func hostileValue(_ random: inout SplitMix64) -> String {
        switch random.next(below: 4) {
        case 0: return HostileValues.numbers[random.next(below: HostileValues.numbers.count)]
        case 1: return HostileValues.times[random.next(below: HostileValues.times.count)]
        case 2: return HostileValues.junk[random.next(below: HostileValues.junk.count)]
        default: return HostileValues.directions[random.next(below: HostileValues.directions.count)]
        }
    }

    /// A sane value for `parameter`, so that each hostile value also meets well-formed neighbours.
    func saneValue(_ parameter: String, _ random: inout SplitMix64) -> String {
        switch parameter {
        case "start": return String(nowNanos - 3_600_000_000_000)
        case "end", "time": return String(nowNanos)
        case "since": return "1h"
        case "limit": return "100"
        case "step": return "60"
        case "interval": return "1m"
        case "direction": return random.next(below: 2) == 0 ? "forward" : "backward"
        default: return goodSelector
        }
    }

    func queryParameters(_ random: inout SplitMix64) -> HostileRequest {
        let endpoints: [(String, [String])] = [
            ("/loki/api/v1/query_range", ["query", "start", "end", "since", "limit", "step", "interval", "direction"]),
            ("/loki/api/v1/query", ["query", "time", "limit", "direction"]),
            ("/loki/api/v1/labels", ["start", "end", "since", "query"]),
            ("/loki/api/v1/label/job/values", ["start", "end", "since", "query"]),
            ("/loki/api/v1/series", ["match[]", "start", "end", "since"]),
        ]
        var (path, parameters) = endpoints[random.next(below: endpoints.count)]
        if path.hasSuffix("/job/values"), random.next(below: 3) == 0 {
            let names = ["..", "%2F", "%00", "a%2Fb", String(repeating: "n", count: 5_000), "%FF", "__name__", "日本"]
            path = "/loki/api/v1/label/\(names[random.next(below: names.count)])/values"
        }
        var pairs: [(String, String)] = []
        var hostile: [String] = []
        for parameter in parameters {
            switch random.next(below: 5) {
            case 0, 1:
                let value = hostileValue(&random)
                pairs.append((parameter, value))
                hostile.append("\(parameter)=\(Self.shown(value))")
            case 2, 3: pairs.append((parameter, saneValue(parameter, &random)))
            default: break
            }
        }
        if hostile.isEmpty, let parameter = parameters.last {
            let value = hostileValue(&random)
            pairs.append((parameter, value))
            hostile.append("\(parameter)=\(Self.shown(value))")
        }
        if random.next(below: 8) == 0, let first = pairs.first {
            pairs.append((first.0, hostileValue(&random)))
            hostile.append("\(first.0) twice")
        }
        let query = pairs.map { "\(Self.encodeComponent($0.0))=\(Self.encodeComponent($0.1))" }.joined(separator: "&")
        return queryRequest(path: path, query: query, random: &random, summary: hostile.joined(separator: " "))
    }

    /// A GET with `query` in the URL, or (one in five) a POST with it as a form body, as Loki also accepts.
    func queryRequest(path: String, query: String, random: inout SplitMix64, summary: String) -> HostileRequest {
        let tenant = random.next(below: 4) == 0 ? "hostile" : goodTenant
        if random.next(below: 5) == 0 {
            return HostileRequest(
                target: .backend, method: "POST", path: path,
                headers: [HeaderField("X-Scope-OrgID", tenant),
                          HeaderField("Content-Type", "application/x-www-form-urlencoded")],
                body: Array(query.utf8), isQuery: true, summary: "POST form: " + summary)
        }
        return HostileRequest(target: .backend, method: "GET", path: path + "?" + query,
                              headers: [HeaderField("X-Scope-OrgID", tenant)], isQuery: true, summary: summary)
    }

    /// One hostile LogQL string and what it is.
    func hostileLogQL(_ random: inout SplitMix64) -> (String, String) {
        let selector = goodSelector
        let inner = String(selector.dropFirst().dropLast())
        let regexes = HostileValues.pathologicalRegexes
        // Pathological regexes are drawn three times as often as each other kind: they are what freezes a
        // backtracking engine, and the known entries' label `a` and lines are the runs of `a` that trigger it.
        let kind = random.next(below: 11)
        switch kind < 3 ? 0 : kind - 2 {
        case 0:
            let regex = regexes[random.next(below: regexes.count)]
            let shapes = [
                "{\(inner), a=~\"\(regex)\"}", "{a=~\"\(regex)\", \(inner)}", "{\(inner), a!~\"\(regex)\"}",
                "{job=~\"\(regex)\"}", "\(selector) |~ \"\(regex)\"", "\(selector) !~ \"\(regex)\"",
                "\(selector) |~ `\(regex)`", "\(selector) |= \"a\" |~ \"\(regex)\"",
                "\(selector) | regexp \"(?P<g>\(regex))\"", "count_over_time(\(selector) |~ \"\(regex)\" [1h])",
            ]
            let query = shapes[random.next(below: shapes.count)]
            return (query, "pathological regex \(regex)")
        case 1:
            let regex = HostileValues.expensiveRegexes[random.next(below: HostileValues.expensiveRegexes.count)]
            let query = random.next(below: 2) == 0 ? "\(selector) |~ `\(regex)`" : "{\(inner), a=~`\(regex)`}"
            return (query, "expensive regex \(Self.shown(regex))")
        case 2:
            let base = HostileValues.validQueries[random.next(below: HostileValues.validQueries.count)]
                .replacingOccurrences(of: "SEL", with: selector)
            var scalars = Array(base.unicodeScalars).map { String($0) }
            let edits = 1 + random.next(below: 4)
            for _ in 0..<edits {
                let at = random.next(below: scalars.count + 1)
                switch random.next(below: 4) {
                case 0: scalars.insert(HostileValues.logQLAlphabet[random.next(below: HostileValues.logQLAlphabet.count)], at: at)
                case 1: if at < scalars.count { scalars.remove(at: at) }
                case 2: if at < scalars.count { scalars[at] = HostileValues.logQLAlphabet[random.next(below: HostileValues.logQLAlphabet.count)] }
                default:
                    let end = min(scalars.count, at + 1 + random.next(below: 10))
                    scalars.insert(contentsOf: scalars[at..<end], at: at)
                }
            }
            let query = scalars.joined()
            return (query, "mutated \(Self.shown(base)) by \(edits) edits")
        case 3:
            let unbalanced = ["{", "}", "{job=\"x\"", "{job=\"", "\"", "`", "(", ")", "sum(", "sum(count_over_time(\(selector)[1m])",
                              "\(selector) |= \"", "\(selector) | json | a=\"", "\(selector) [", "{{{{", "}}}}", "",
                              "\(selector) | line_format \"{{\"", "\(selector) | line_format \"{{ .a \"",
                              String(repeating: "{", count: 10_000), String(repeating: "\"", count: 10_001)]
            let query = unbalanced[random.next(below: unbalanced.count)]
            return (query, "unbalanced \(Self.shown(query))")
        case 4:
            let depth = [100, 1_000, 10_000, 50_000][random.next(below: 4)]
            let shapes = [
                String(repeating: "sum(", count: depth) + "count_over_time(\(selector)[1m])" + String(repeating: ")", count: depth),
                String(repeating: "(", count: depth) + "1" + String(repeating: ")", count: depth),
                (0..<depth).map { _ in "1" }.joined(separator: "+"),
                "vector(1)" + String(repeating: " * vector(1)", count: depth),
                selector + String(repeating: " | json", count: depth),
                selector + String(repeating: " |= \"a\"", count: depth),
                "-" + String(repeating: "-", count: depth) + "1",
            ]
            let shape = random.next(below: shapes.count)
            return (shapes[shape], "nested or chained \(depth) deep (shape \(shape))")
        case 5:
            let count = [1_000, 10_000][random.next(below: 2)]
            let shapes = [
                "{" + inner + ", " + (0..<count).map { "l\($0)=\"v\"" }.joined(separator: ", ") + "}",
                "{" + inner + ", a=\"" + String(repeating: "a", count: count * 10) + "\"}",
                "{" + inner + ", a=~\"" + (0..<count).map { "v\($0)" }.joined(separator: "|") + "\"}",
            ]
            let shape = random.next(below: shapes.count)
            return (shapes[shape], "a selector of \(count) parts (shape \(shape))")
        case 6:
            let ranges = ["0s", "-1s", "99999999999999999999s", "10000y", "292y", "1ns", "0.5s", "1e308s", "9223372036854775807ns", ""]
            let range = ranges[random.next(below: ranges.count)]
            let shapes = ["count_over_time(\(selector)[\(range)])", "rate(\(selector)[1m] offset \(range))",
                          "sum_over_time(\(selector) | unwrap a [\(range)])", "count_over_time(\(selector)[1m:\(range)])",
                          "count_over_time(\(selector)[1m] offset -\(range))"]
            let query = shapes[random.next(below: shapes.count)]
            return (query, "range or offset \(range)")
        case 7:
            let numbers = HostileValues.numbers
            let number = numbers[random.next(below: numbers.count)]
            let shapes = ["topk(\(number), count_over_time(\(selector)[1m]))", "quantile_over_time(\(number), \(selector) | unwrap a [1m])",
                          "\(selector) | a > \(number)", "vector(\(number))", "count_over_time(\(selector)[1m]) > \(number)",
                          "\(selector) | line_format \"{{ repeat \(number) \\\"a\\\" }}\"", "label_replace(vector(1), \"a\", \"$1\", \"b\", \"(a+)+b\")"]
            let query = shapes[random.next(below: shapes.count)]
            return (query, "number \(number) in an expression")
        default:
            let bad: [UInt8] = [0xFF, 0xFE]
            let query = String(decoding: Array("{job=\"".utf8) + bad + Array("\"}".utf8), as: UTF8.self) + " |= \"\u{0}\u{1}\""
            return (query, "replacement characters and control characters")
        }
    }

    func logQL(_ random: inout SplitMix64) -> HostileRequest {
        let (query, summary) = hostileLogQL(&random)
        let start = nowNanos - 3_600_000_000_000
        let encoded = "query=" + Self.encodeComponent(query)
        switch random.next(below: 3) {
        case 0:
            return queryRequest(path: "/loki/api/v1/query", query: encoded + "&time=\(nowNanos)&limit=100",
                                random: &random, summary: summary)
        case 1:
            return queryRequest(path: "/loki/api/v1/series",
                                query: "match%5B%5D=" + Self.encodeComponent(query) + "&start=\(start)&end=\(nowNanos)",
                                random: &random, summary: "series: " + summary)
        default:
            return queryRequest(path: "/loki/api/v1/query_range",
                                query: encoded + "&start=\(start)&end=\(nowNanos)&limit=100&step=60",
                                random: &random, summary: summary)
        }
    }
}
