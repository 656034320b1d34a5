import AlloyLanguage
import Glibc
import GoCompat
import Wire

/// `stage.match`: runs its nested stages on the entries its `selector` matches (`action = "keep"`, the default), or
/// drops them (`action = "drop"`, counted under `drop_counter_reason`, default `match_stage`). The selector is LogQL:
/// a stream selector with `=`, `!=`, `=~`, `!~` matchers (regexes RE2 and fully anchored), then line filters `|=`,
/// `!=`, `|~`, `!~` (regexes unanchored), e.g. `{app="web", level=~"warn|error"} |= "timeout" != "healthcheck"`.
/// Consecutive matching entries go through the nested stages together, so the order of the batch is kept.
struct MatchStage: ProcessStage {
    struct Config: Sendable, Equatable {
        var selector: MatchSelector
        var pipelineName: String
        var drop = false
        var reason = "match_stage"
        var stages: [StageConfig]

        init(_ reader: ArgumentReader) throws(Diagnostic) {
            let text = try reader.requiredString("selector")
            do throws(MatchSelector.ParseError) {
                selector = try MatchSelector(text)
            } catch {
                throw reader.error("selector", "selector: \(error.message) in \(GoQuote.quote(text))")
            }
            pipelineName = try reader.string("pipeline_name", default: "")
            // Empty means the default, as in Alloy.
            let action = try reader.string("action", default: "")
            guard ["", "keep", "drop"].contains(action) else {
                throw reader.error("action", "action: expected \"keep\" or \"drop\", got \(GoQuote.quote(action))")
            }
            drop = action == "drop"
            let reason = try reader.string("drop_counter_reason", default: "")
            if !reason.isEmpty { self.reason = reason }
            var stages: [StageConfig] = []
            for block in reader.allBlocks() {
                stages.append(try StageConfig(name: block.name, label: block.label, reader: block.reader))
            }
            if drop && !stages.isEmpty {
                throw reader.blockError("\(reader.name) with action = \"drop\" takes no nested stages")
            }
            if !drop && stages.isEmpty {
                throw reader.blockError("\(reader.name) needs nested stages (or action = \"drop\")")
            }
            self.stages = stages
        }
    }

    let config: Config
    private var stages: [any ProcessStage]

    init(_ config: Config, environment: StageEnvironment) {
        self.config = config
        stages = config.stages.map { $0.makeStage(environment) }
    }

    mutating func process(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        if config.drop {
            for index in entries.indices where !entries[index].removed && config.selector.matches(entries[index].entry) {
                context.drop(&entries[index], reason: config.reason)
            }
            return
        }
        var result: [ProcessEntry] = []
        var run: [ProcessEntry] = []
        var changed = false
        for entry in entries {
            if !entry.removed && config.selector.matches(entry.entry) {
                run.append(entry)
                continue
            }
            if !run.isEmpty {
                result.append(contentsOf: runNested(&run, &context))
                changed = true
            }
            result.append(entry)
        }
        if !run.isEmpty {
            result.append(contentsOf: runNested(&run, &context))
            changed = true
        }
        if changed { entries = result }
    }

    /// Stopping: what the nested stages hold, through the nested stages after them.
    mutating func releaseAll(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        entries.append(contentsOf: stages.releaseAll(&context))
    }

    private mutating func runNested(_ run: inout [ProcessEntry], _ context: inout StageContext) -> [ProcessEntry] {
        defer { run.removeAll(keepingCapacity: true) }
        var batch = run
        for index in stages.indices { stages[index].process(&batch, &context) }
        return batch
    }
}

/// A LogQL stream selector with line filters, as `stage.match` takes it.
struct MatchSelector: Sendable, Equatable {
    enum Operator: String, Sendable {
        case equal = "=", notEqual = "!=", matches = "=~", notMatches = "!~"
    }

    struct LabelMatcher: Sendable, Equatable {
        var name: String
        var op: Operator
        var value: String
        var regex: AnchoredRegex?

        static func == (lhs: LabelMatcher, rhs: LabelMatcher) -> Bool {
            lhs.name == rhs.name && lhs.op == rhs.op && lhs.value == rhs.value
        }

        func matches(_ labels: LabelSet) -> Bool {
            let actual = labels[name] ?? ""
            switch op {
            case .equal: return actual == value
            case .notEqual: return actual != value
            case .matches: return regex?.matches(actual) ?? false
            case .notMatches: return !(regex?.matches(actual) ?? false)
            }
        }
    }

    struct LineFilter: Sendable, Equatable {
        enum Kind: String, Sendable {
            case contains = "|=", notContains = "!=", matches = "|~", notMatches = "!~"
        }

        var kind: Kind
        var value: String
        var regex: RE2Regex?

        static func == (lhs: LineFilter, rhs: LineFilter) -> Bool {
            lhs.kind == rhs.kind && lhs.value == rhs.value
        }

        func matches(_ line: [UInt8]) -> Bool {
            switch kind {
            case .contains: return Self.contains(line, Array(value.utf8))
            case .notContains: return !Self.contains(line, Array(value.utf8))
            case .matches: return regex?.firstMatch(String(decoding: line, as: UTF8.self)) ?? false
            case .notMatches: return !(regex?.firstMatch(String(decoding: line, as: UTF8.self)) ?? false)
            }
        }

        private static func contains(_ line: [UInt8], _ needle: [UInt8]) -> Bool {
            guard !needle.isEmpty else { return true }
            return line.withUnsafeBytes { haystack in
                needle.withUnsafeBytes { pattern in
                    guard let text = haystack.baseAddress, let wanted = pattern.baseAddress, let first = pattern.first else {
                        return false
                    }
                    // memchr to each candidate first byte, memcmp the rest.
                    var offset = 0
                    while offset + pattern.count <= haystack.count {
                        guard let hit = memchr(text + offset, Int32(first), haystack.count - pattern.count + 1 - offset) else {
                            return false
                        }
                        offset = UnsafeRawPointer(hit) - text
                        if memcmp(text + offset, wanted, pattern.count) == 0 { return true }
                        offset += 1
                    }
                    return false
                }
            }
        }
    }

    struct ParseError: Error, Sendable {
        let message: String
    }

    let text: String
    private(set) var matchers: [LabelMatcher] = []
    private(set) var filters: [LineFilter] = []

    static func == (lhs: MatchSelector, rhs: MatchSelector) -> Bool {
        lhs.text == rhs.text
    }

    init(_ text: String) throws(ParseError) {
        self.text = text
        var scanner = Scanner(Array(text.unicodeScalars))
        scanner.skipSpace()
        guard scanner.take("{") else { throw ParseError(message: "a selector starts with \"{\"") }
        scanner.skipSpace()
        if !scanner.take("}") {
            while true {
                scanner.skipSpace()
                guard let name = scanner.identifier() else {
                    throw ParseError(message: "expected a label name at position \(scanner.index + 1)")
                }
                scanner.skipSpace()
                guard let op = scanner.matcherOperator() else {
                    throw ParseError(message: "expected =, !=, =~ or !~ after \(name)")
                }
                scanner.skipSpace()
                let value = try scanner.quoted()
                var matcher = LabelMatcher(name: name, op: op, value: value, regex: nil)
                if op == .matches || op == .notMatches {
                    do throws(RE2Error) {
                        matcher.regex = try AnchoredRegex(value)
                    } catch {
                        throw ParseError(message: "\(error)")
                    }
                }
                matchers.append(matcher)
                scanner.skipSpace()
                if scanner.take(",") { continue }
                guard scanner.take("}") else { throw ParseError(message: "expected \",\" or \"}\" at position \(scanner.index + 1)") }
                break
            }
        }
        guard !matchers.isEmpty else { throw ParseError(message: "a selector needs at least one label matcher") }
        while true {
            scanner.skipSpace()
            if scanner.atEnd { break }
            guard let kind = scanner.filterOperator() else {
                throw ParseError(message: "expected a line filter (|=, !=, |~, !~) at position \(scanner.index + 1)")
            }
            scanner.skipSpace()
            let value = try scanner.quoted()
            var filter = LineFilter(kind: kind, value: value, regex: nil)
            if kind == .matches || kind == .notMatches {
                do throws(RE2Error) {
                    filter.regex = try RE2Regex(value, dotMatchesNewline: false)
                } catch {
                    throw ParseError(message: "\(error)")
                }
            }
            filters.append(filter)
        }
    }

    func matches(_ entry: LogEntry) -> Bool {
        matchers.allSatisfy { $0.matches(entry.labels) } && filters.allSatisfy { $0.matches(entry.line) }
    }

    private struct Scanner {
        let scalars: [Unicode.Scalar]
        var index = 0

        init(_ scalars: [Unicode.Scalar]) {
            self.scalars = scalars
        }

        var atEnd: Bool { index >= scalars.count }

        mutating func skipSpace() {
            while index < scalars.count, scalars[index].properties.isWhitespace { index += 1 }
        }

        mutating func take(_ text: String) -> Bool {
            let wanted = Array(text.unicodeScalars)
            guard index + wanted.count <= scalars.count, Array(scalars[index..<(index + wanted.count)]) == wanted else {
                return false
            }
            index += wanted.count
            return true
        }

        mutating func identifier() -> String? {
            let start = index
            while index < scalars.count {
                let scalar = scalars[index]
                let letter = scalar.isASCII && (scalar.properties.isAlphabetic || scalar == "_")
                let digit = index > start && ("0"..."9").contains(scalar)
                guard letter || digit else { break }
                index += 1
            }
            guard index > start else { return nil }
            var out = ""
            out.unicodeScalars.append(contentsOf: scalars[start..<index])
            return out
        }

        mutating func matcherOperator() -> Operator? {
            for op in [Operator.matches, .notMatches, .notEqual, .equal] where take(op.rawValue) { return op }
            return nil
        }

        mutating func filterOperator() -> LineFilter.Kind? {
            for kind in [LineFilter.Kind.contains, .notContains, .matches, .notMatches] where take(kind.rawValue) {
                return kind
            }
            return nil
        }

        /// A Go string literal: `"..."` with escapes, or `` `...` `` raw.
        mutating func quoted() throws(ParseError) -> String {
            guard index < scalars.count, scalars[index] == "\"" || scalars[index] == "`" else {
                throw ParseError(message: "expected a quoted string at position \(index + 1)")
            }
            let start = index
            guard let end = GoQuote.literalEnd(scalars, from: start) else { throw ParseError(message: "unterminated string") }
            index = end
            var literal = ""
            literal.unicodeScalars.append(contentsOf: scalars[start..<index])
            guard let value = GoQuote.unquote(literal) else { throw ParseError(message: "invalid string \(literal)") }
            return value
        }
    }
}
