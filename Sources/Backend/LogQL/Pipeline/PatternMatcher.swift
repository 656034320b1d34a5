/// Loki's pattern syntax (`pkg/logql/log/pattern`): literal text and captures `<name>` (or `<_>`, which matches
/// without keeping). Used by the `pattern` parser and by the `|>` / `!>` line filters.
struct PatternMatcher: Sendable {
    enum Node: Sendable, Equatable {
        case literal([UInt8])
        case capture(String)

        var isCapture: Bool {
            if case .capture = self { return true }
            return false
        }
    }

    let nodes: [Node]
    /// The named captures in order (`<_>` excluded).
    let names: [String]

    /// Parses `pattern`. `requireNamedCapture` is the parser's rule (at least one named capture; no name twice);
    /// line filters only refuse consecutive captures.
    init(_ pattern: String, requireNamedCapture: Bool) throws(LogQLError) {
        nodes = Self.parse(Array(pattern.utf8))
        names = nodes.compactMap { node in
            if case .capture(let name) = node, name != "_" { return name }
            return nil
        }
        for index in nodes.indices.dropLast() where nodes[index].isCapture && nodes[index + 1].isCapture {
            guard case .capture(let first) = nodes[index], case .capture(let second) = nodes[index + 1] else { continue }
            throw LogQLError(line: 0, column: 0,
                             message: "found consecutive capture '<\(first)><\(second)>': invalid expression")
        }
        if requireNamedCapture {
            if names.isEmpty {
                throw LogQLError(line: 0, column: 0, message: "at least one capture is required")
            }
            var seen = Set<String>()
            for name in names where !seen.insert(name).inserted {
                throw LogQLError(line: 0, column: 0, message: "duplicate capture name (\(name)): invalid expression")
            }
        }
    }

    /// `<identifier>` is a capture; any other `<` is literal text. Adjacent literal text is one node.
    private static func parse(_ bytes: [UInt8]) -> [Node] {
        var nodes: [Node] = []
        var literal: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "<"), let (name, end) = capture(bytes, index) {
                if !literal.isEmpty {
                    nodes.append(.literal(literal))
                    literal = []
                }
                nodes.append(.capture(name))
                index = end
                continue
            }
            literal.append(bytes[index])
            index += 1
        }
        if !literal.isEmpty { nodes.append(.literal(literal)) }
        return nodes
    }

    private static func capture(_ bytes: [UInt8], _ start: Int) -> (String, Int)? {
        var index = start + 1
        guard index < bytes.count else { return nil }
        let first = bytes[index]
        guard first == 95 || (first >= 97 && first <= 122) || (first >= 65 && first <= 90) else { return nil }
        while index < bytes.count, LabelKeys.isNameByte(bytes[index]) { index += 1 }
        guard index < bytes.count, bytes[index] == UInt8(ascii: ">") else { return nil }
        return (String(decoding: bytes[(start + 1)..<index], as: UTF8.self), index + 1)
    }

    /// Loki's `Matcher.Matches`: the named captures found, in order; fewer than `names` when the line matches only
    /// in part (a capture whose closing literal is missing takes the rest of the line).
    func matches(_ line: UnsafeRawBufferPointer, _ body: (Int, UnsafeRawBufferPointer) -> Void) {
        guard !line.isEmpty, !nodes.isEmpty else { return }
        var rest = line
        var position = 0
        var captured = 0
        if case .literal(let literal) = nodes[0] {
            guard let found = literal.withUnsafeBytes({ ByteSearch.firstIndex(rest, $0) }), found == 0 else { return }
            rest = UnsafeRawBufferPointer(rebasing: rest[literal.count...])
            position = 1
        }
        guard position < nodes.count else { return }
        while position < nodes.count {
            guard case .capture(let name) = nodes[position] else { return }
            if position == nodes.count - 1 {
                if name != "_" { body(captured, rest) }
                return
            }
            guard case .literal(let literal) = nodes[position + 1] else { return }
            position += 2
            guard let found = literal.withUnsafeBytes({ ByteSearch.firstIndex(rest, $0) }) else {
                if name != "_" { body(captured, rest) }
                return
            }
            if name != "_" {
                body(captured, UnsafeRawBufferPointer(rebasing: rest[..<found]))
                captured += 1
            }
            rest = UnsafeRawBufferPointer(rebasing: rest[(found + literal.count)...])
        }
    }

    /// Loki's `Matcher.Test` for line filters: every literal in order, captures non-empty, and the line ends where
    /// the pattern does.
    func test(_ line: UnsafeRawBufferPointer) -> Bool {
        if line.isEmpty || nodes.isEmpty { return line.isEmpty && nodes.isEmpty }
        var offset = 0
        for (index, node) in nodes.enumerated() {
            guard case .literal(let literal) = node else { continue }
            let rest = UnsafeRawBufferPointer(rebasing: line[offset...])
            guard let found = literal.withUnsafeBytes({ ByteSearch.firstIndex(rest, $0) }) else { return false }
            if index != 0 && found == 0 { return false }
            offset += found + literal.count
        }
        let endsOnCapture = nodes[nodes.count - 1].isCapture
        return endsOnCapture == (offset != line.count)
    }
}
