import Wire

extension Stdlib {
    /// `json_path(json, path)`: every value of the JSON document matched by the JSONPath, as an array.
    static let jsonPath: Implementation = { args throws(EvaluationError) in
        let arguments = try FunctionArguments(args, count: 2)
        let json = try arguments.string(0)
        let pathText = try arguments.string(1)
        let document: Value
        do throws(JSONCoding.DecodeError) {
            document = try JSONCoding.decode(json)
        } catch {
            throw EvaluationError(message: "invalid JSON: \(error.message)", argumentIndex: 0)
        }
        let path: JSONPath
        do throws(JSONPath.ParseError) {
            path = try JSONPath(pathText)
        } catch {
            throw EvaluationError(message: error.message, argumentIndex: 1)
        }
        return .array(path.evaluate(document))
    }
}

/// A JSONPath expression: `$`, `.name`, `..name`, `.*`, `[n]`, `[-n]`, `[a,b]`, `['name']`, `[start:end:step]`,
/// `[*]` and filters `[?(@.key == "value")]` with `== != < <= > >=`, `&&`, `||`, `!` and parentheses.
/// A path may start without `$`, as ojg (which Alloy uses) allows: `.a` is `$.a`.
struct JSONPath {
    struct ParseError: Error {
        var message: String
    }

    indirect enum Segment {
        case child([String])
        case wildcard
        case index([Int])
        case slice(start: Int?, end: Int?, step: Int)
        case filter(Filter)
        case descendant(Segment)
    }

    indirect enum Filter {
        case or(Filter, Filter)
        case and(Filter, Filter)
        case not(Filter)
        case exists(Operand)
        case compare(Operand, BinaryOperator, Operand)
    }

    enum Operand {
        case current([Segment])
        case root([Segment])
        case literal(Value)
    }

    let segments: [Segment]
    private static let maximumDepth = 64

    init(_ text: String) throws(ParseError) {
        var parser = PathParser(scalars: Array(text.unicodeScalars))
        segments = try parser.parsePath(allowBareStart: true, depth: 0)
        guard parser.index == parser.scalars.count else {
            throw ParseError(message: "unexpected \(parser.describeCurrent()) in JSONPath \(GoQuote.quote(text))")
        }
    }

    func evaluate(_ document: Value) -> [Value] {
        Self.apply(segments, to: [document], root: document)
    }

    static func apply(_ segments: [Segment], to values: [Value], root: Value) -> [Value] {
        var current = values
        for segment in segments {
            current = current.flatMap { apply(segment, to: $0, root: root) }
        }
        return current
    }

    private static func apply(_ segment: Segment, to value: Value, root: Value) -> [Value] {
        switch segment {
        case .child(let names):
            guard case .object(let object) = value else { return [] }
            return names.compactMap { object[$0] }
        case .wildcard:
            return children(of: value)
        case .index(let indexes):
            guard case .array(let elements) = value else { return [] }
            return indexes.compactMap { index in
                let position = index < 0 ? elements.count + index : index
                return elements.indices.contains(position) ? elements[position] : nil
            }
        case .slice(let start, let end, let step):
            guard case .array(let elements) = value, step != 0 else { return [] }
            let count = elements.count
            func clamp(_ bound: Int?, _ fallback: Int) -> Int {
                guard let bound else { return fallback }
                return bound < 0 ? max(count + bound, step > 0 ? 0 : -1) : min(bound, step > 0 ? count : count - 1)
            }
            var result: [Value] = []
            if step > 0 {
                var i = clamp(start, 0)
                let stop = clamp(end, count)
                while i < stop {
                    result.append(elements[i])
                    i += step
                }
            } else {
                var i = clamp(start, count - 1)
                let stop = clamp(end, -1)
                while i > stop, i >= 0 {
                    result.append(elements[i])
                    i += step
                }
            }
            return result
        case .filter(let filter):
            return children(of: value).filter { matches(filter, $0, root: root) }
        case .descendant(let inner):
            var all: [Value] = []
            collectDescendants(value, into: &all, depth: 0)
            return all.flatMap { apply(inner, to: $0, root: root) }
        }
    }

    private static func children(of value: Value) -> [Value] {
        switch value {
        case .array(let elements): elements
        case .object(let object): object.pairs.map(\.value)
        default: []
        }
    }

    private static func collectDescendants(_ value: Value, into all: inout [Value], depth: Int) {
        all.append(value)
        guard depth < JSONCoding.maximumDepth else { return }
        for child in children(of: value) {
            collectDescendants(child, into: &all, depth: depth + 1)
        }
    }

    private static func matches(_ filter: Filter, _ value: Value, root: Value) -> Bool {
        switch filter {
        case .or(let a, let b): return matches(a, value, root: root) || matches(b, value, root: root)
        case .and(let a, let b): return matches(a, value, root: root) && matches(b, value, root: root)
        case .not(let inner): return !matches(inner, value, root: root)
        case .exists(let operand): return resolve(operand, value, root: root) != nil
        case .compare(let left, let op, let right):
            guard let a = resolve(left, value, root: root), let b = resolve(right, value, root: root) else {
                return op == .notEqual
            }
            switch op {
            case .equal: return a == b
            case .notEqual: return a != b
            default:
                guard let result = try? ValueOperators.binary(op, a, b), case .bool(let flag) = result else { return false }
                return flag
            }
        }
    }

    private static func resolve(_ operand: Operand, _ value: Value, root: Value) -> Value? {
        switch operand {
        case .literal(let literal): literal
        case .current(let segments): apply(segments, to: [value], root: root).first
        case .root(let segments): apply(segments, to: [root], root: root).first
        }
    }

    private struct PathParser {
        let scalars: [Unicode.Scalar]
        var index = 0

        var current: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

        func describeCurrent() -> String {
            current.map { "'\($0)'" } ?? "end of path"
        }

        mutating func skipSpaces() {
            while current == " " { index += 1 }
        }

        func error(_ message: String) -> ParseError {
            ParseError(message: "\(message) at character \(index + 1) of JSONPath")
        }

        mutating func parsePath(allowBareStart: Bool, depth: Int) throws(ParseError) -> [Segment] {
            guard depth < JSONPath.maximumDepth else { throw error("JSONPath filter nested too deeply") }
            var segments: [Segment] = []
            if current == "$" || current == "@" {
                index += 1
            } else if allowBareStart, let first = current, isNameCharacter(first) {
                segments.append(.child([parseName()]))
            }
            while let scalar = current {
                if scalar == "." {
                    index += 1
                    if current == "." {
                        index += 1
                        if current == "[" {
                            segments.append(.descendant(try parseBracket(depth: depth)))
                        } else {
                            segments.append(.descendant(try parseDotted()))
                        }
                    } else {
                        segments.append(try parseDotted())
                    }
                } else if scalar == "[" {
                    segments.append(try parseBracket(depth: depth))
                } else {
                    break
                }
            }
            return segments
        }

        private mutating func parseDotted() throws(ParseError) -> Segment {
            if current == "*" {
                index += 1
                return .wildcard
            }
            guard let first = current, isNameCharacter(first) else { throw error("expected a name after '.'") }
            return .child([parseName()])
        }

        private func isNameCharacter(_ scalar: Unicode.Scalar) -> Bool {
            !". []()=!<>&|,'\"*$@?:".unicodeScalars.contains(scalar)
        }

        private mutating func parseName() -> String {
            var name = ""
            while let scalar = current, isNameCharacter(scalar) {
                name.unicodeScalars.append(scalar)
                index += 1
            }
            return name
        }

        private mutating func parseBracket(depth: Int) throws(ParseError) -> Segment {
            index += 1  // [
            skipSpaces()
            let segment: Segment
            if current == "*" {
                index += 1
                segment = .wildcard
            } else if current == "?" {
                index += 1
                skipSpaces()
                let parenthesized = current == "("
                if parenthesized { index += 1 }
                let filter = try parseOr(depth: depth + 1)
                skipSpaces()
                if parenthesized {
                    guard current == ")" else { throw error("expected ')' to close the filter") }
                    index += 1
                }
                segment = .filter(filter)
            } else if current == "'" || current == "\"" {
                var names = [try parseQuoted()]
                skipSpaces()
                while current == "," {
                    index += 1
                    skipSpaces()
                    names.append(try parseQuoted())
                    skipSpaces()
                }
                segment = .child(names)
            } else {
                let first = parseInteger()
                skipSpaces()
                if current == ":" {
                    index += 1
                    skipSpaces()
                    let end = parseInteger()
                    skipSpaces()
                    var step = 1
                    if current == ":" {
                        index += 1
                        skipSpaces()
                        step = parseInteger() ?? 1
                    }
                    segment = .slice(start: first, end: end, step: step)
                } else {
                    guard let first else { throw error("expected an index, a name, '*' or a filter in brackets") }
                    var indexes = [first]
                    while current == "," {
                        index += 1
                        skipSpaces()
                        guard let next = parseInteger() else { throw error("expected an index after ','") }
                        indexes.append(next)
                        skipSpaces()
                    }
                    segment = .index(indexes)
                }
            }
            skipSpaces()
            guard current == "]" else { throw error("expected ']'") }
            index += 1
            return segment
        }

        private mutating func parseInteger() -> Int? {
            let start = index
            if current == "-" { index += 1 }
            var value = 0
            var digits = 0
            while let scalar = current, ("0"..."9").contains(scalar) {
                value = min(value * 10 + Int(scalar.value - 48), 1 << 40)
                digits += 1
                index += 1
            }
            guard digits > 0 else {
                index = start
                return nil
            }
            return scalars[start] == "-" ? -value : value
        }

        private mutating func parseQuoted() throws(ParseError) -> String {
            guard let quote = current, quote == "'" || quote == "\"" else { throw error("expected a quoted name") }
            index += 1
            var text = ""
            while let scalar = current, scalar != quote {
                if scalar == "\\", index + 1 < scalars.count {
                    index += 1
                }
                text.unicodeScalars.append(scalars[index])
                index += 1
            }
            guard current == quote else { throw error("unterminated quoted name") }
            index += 1
            return text
        }

        private mutating func parseOr(depth: Int) throws(ParseError) -> Filter {
            var left = try parseAnd(depth: depth)
            while true {
                skipSpaces()
                guard current == "|", index + 1 < scalars.count, scalars[index + 1] == "|" else { return left }
                index += 2
                left = .or(left, try parseAnd(depth: depth))
            }
        }

        private mutating func parseAnd(depth: Int) throws(ParseError) -> Filter {
            var left = try parseComparison(depth: depth)
            while true {
                skipSpaces()
                guard current == "&", index + 1 < scalars.count, scalars[index + 1] == "&" else { return left }
                index += 2
                left = .and(left, try parseComparison(depth: depth))
            }
        }

        private mutating func parseComparison(depth: Int) throws(ParseError) -> Filter {
            guard depth < JSONPath.maximumDepth else { throw error("JSONPath filter nested too deeply") }
            skipSpaces()
            if current == "!" && !(index + 1 < scalars.count && scalars[index + 1] == "=") {
                index += 1
                return .not(try parseComparison(depth: depth + 1))
            }
            if current == "(" {
                index += 1
                let inner = try parseOr(depth: depth + 1)
                skipSpaces()
                guard current == ")" else { throw error("expected ')'") }
                index += 1
                return inner
            }
            let left = try parseOperand(depth: depth)
            skipSpaces()
            let operators: [(String, BinaryOperator)] = [
                ("==", .equal), ("!=", .notEqual), ("<=", .lessEqual), (">=", .greaterEqual), ("<", .less), (">", .greater),
            ]
            for (symbol, op) in operators where matchesText(symbol) {
                index += symbol.unicodeScalars.count
                skipSpaces()
                return .compare(left, op, try parseOperand(depth: depth))
            }
            if matchesText("=~") {
                throw error("regular expression filters (=~) are not supported")
            }
            return .exists(left)
        }

        private func matchesText(_ text: String) -> Bool {
            let wanted = Array(text.unicodeScalars)
            guard index + wanted.count <= scalars.count else { return false }
            return Array(scalars[index..<(index + wanted.count)]) == wanted
        }

        private mutating func parseOperand(depth: Int) throws(ParseError) -> Operand {
            skipSpaces()
            switch current {
            case "@":
                return .current(try parsePath(allowBareStart: false, depth: depth + 1))
            case "$":
                return .root(try parsePath(allowBareStart: false, depth: depth + 1))
            case "'", "\"":
                return .literal(.string(try parseQuoted()))
            default:
                for (word, value) in [("true", Value.bool(true)), ("false", .bool(false)), ("null", .null)] where matchesText(word) {
                    index += word.unicodeScalars.count
                    return .literal(value)
                }
                let start = index
                while let scalar = current, "+-.eE0123456789".unicodeScalars.contains(scalar) {
                    index += 1
                }
                let text = String(String.UnicodeScalarView(scalars[start..<index]))
                guard !text.isEmpty, let number = Double(text) else { throw error("expected a value in the filter") }
                if let int = Int64(text) { return .literal(.number(.int(int))) }
                return .literal(.number(.float(number)))
            }
        }
    }
}
