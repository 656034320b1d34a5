// Loki and Prometheus regular expressions are RE2 (Go's `regexp/syntax` with Perl flags). Swift's `Regex` speaks
// a richer dialect with different meanings for some of the same text (`\d` is Unicode, `$` may match before a
// final newline, `[[a]` nests, `\12` is a back-reference). So patterns are parsed here with Go's rules and error
// messages, then printed back in Swift syntax with RE2's meaning; the tree also shows literal fast paths.

/// Go's `regexp/syntax.Parse(pattern, Perl)` (plus `DotNL` for Prometheus label matchers), re-implemented to the
/// extent needed: the full syntax, the limits, the error codes.
public struct RE2Parser {
    private struct Flags {
        var foldCase = false
        var multiLine = false
        var dotNewline = false
        var ungreedy = false
    }

    private let scalars: [Unicode.Scalar]
    private let source: String
    private var index = 0
    private var flags = Flags()
    private var depth = 0
    private var captureCount = 0

    /// Parses `pattern`; `dotMatchesNewline` is the initial `s` flag (true for label matchers, as Prometheus).
    public static func parse(_ pattern: String, dotMatchesNewline: Bool) throws(RE2Error) -> RE2Node {
        var parser = RE2Parser(pattern)
        parser.flags.dotNewline = dotMatchesNewline
        let node = try parser.parseAlternation()
        if parser.index < parser.scalars.count {
            // Only a `)` stops the top-level alternation early.
            throw RE2Error(code: RE2Error.unexpectedParen, fragment: pattern)
        }
        return node
    }

    private init(_ pattern: String) {
        scalars = Array(pattern.unicodeScalars)
        source = pattern
    }

    private var atEnd: Bool { index >= scalars.count }
    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }
    private func text(_ from: Int, _ to: Int) -> String {
        var out = ""
        out.unicodeScalars.append(contentsOf: scalars[max(0, from)..<min(to, scalars.count)])
        return out
    }

    // MARK: Structure

    private mutating func parseAlternation() throws(RE2Error) -> RE2Node {
        var branches = [try parseConcatenation()]
        while peek() == "|" {
            index += 1
            branches.append(try parseConcatenation())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func parseConcatenation() throws(RE2Error) -> RE2Node {
        var items: [RE2Node] = []
        /// Where the operator that made the last item a repetition started, for Go's nested-repetition error.
        var lastRepeatStart: Int? = nil
        while let scalar = peek(), scalar != "|", scalar != ")" {
            let operatorStart = index
            if let (min, max) = try parseRepeatOperator() {
                guard let operand = items.popLast() else {
                    throw RE2Error(code: RE2Error.missingRepeatArgument, fragment: text(operatorStart, index))
                }
                if let lastRepeatStart {
                    throw RE2Error(code: RE2Error.invalidRepeatOp, fragment: text(lastRepeatStart, index))
                }
                var greedy = true
                if peek() == "?" {
                    index += 1
                    greedy = false
                }
                if flags.ungreedy { greedy.toggle() }
                let repetition = RE2Node.repetition(operand, min: min, max: max, greedy: greedy)
                // Go also bounds nested counts: ((a{100}){100}){100} would expand to a million copies.
                if (min >= 2 || (max ?? 0) >= 2) && !Self.repeatIsValid(repetition, 1000) {
                    throw RE2Error(code: RE2Error.invalidRepeatSize, fragment: text(operatorStart, index))
                }
                items.append(repetition)
                lastRepeatStart = operatorStart
                continue
            }
            lastRepeatStart = nil
            if let atom = try parseAtom() { items.append(atom) }
        }
        switch items.count {
        case 0: return .empty
        case 1: return items[0]
        default: return .concatenation(items)
        }
    }

    /// Go's `repeatIsValid`: whether the product of the nested repetition counts in `node` stays within `limit`.
    private static func repeatIsValid(_ node: RE2Node, _ limit: Int) -> Bool {
        var limit = limit
        switch node {
        case .repetition(let inner, let min, let max, _):
            if max == 0 { return true }
            let count = max ?? min
            if count > limit { return false }
            if count > 0 { limit /= count }
            return repeatIsValid(inner, limit)
        case .group(let inner), .capture(let inner, _, _):
            return repeatIsValid(inner, limit)
        case .concatenation(let items), .alternation(let items):
            return items.allSatisfy { repeatIsValid($0, limit) }
        default:
            return true
        }
    }

    /// `*`, `+`, `?` or a valid `{n}`, `{n,}`, `{n,m}` at the cursor (consumed), else nil.
    private mutating func parseRepeatOperator() throws(RE2Error) -> (Int, Int?)? {
        switch peek() {
        case "*": index += 1; return (0, nil)
        case "+": index += 1; return (1, nil)
        case "?": index += 1; return (0, 1)
        case "{":
            let start = index
            var cursor = index + 1
            func number(_ cursor: inout Int) -> Int? {
                let begin = cursor
                var value = 0
                while cursor < scalars.count, ("0"..."9").contains(scalars[cursor]) {
                    value = min(value * 10 + Int(scalars[cursor].value - 48), 100_000)
                    cursor += 1
                }
                return cursor > begin ? value : nil
            }
            guard let low = number(&cursor) else { return nil }
            var high: Int? = low
            if cursor < scalars.count && scalars[cursor] == "," {
                cursor += 1
                if cursor < scalars.count && scalars[cursor] == "}" {
                    high = nil
                } else {
                    guard let value = number(&cursor) else { return nil }
                    high = value
                }
            }
            guard cursor < scalars.count && scalars[cursor] == "}" else { return nil }
            cursor += 1
            if low > 1000 || (high ?? 0) > 1000 || (high.map { $0 < low } ?? false) {
                throw RE2Error(code: RE2Error.invalidRepeatSize, fragment: text(start, cursor))
            }
            index = cursor
            return (low, high)
        default:
            return nil
        }
    }

    /// One atom; nil for a flag group such as `(?i)`, which only changes flags.
    private mutating func parseAtom() throws(RE2Error) -> RE2Node? {
        guard let scalar = peek() else { return nil }
        switch scalar {
        case "(":
            return try parseGroup()
        case "[":
            let (set, _) = try parseClass()
            return .characterClass(set, foldCase: flags.foldCase)
        case ".":
            index += 1
            return .anyCharacter(newline: flags.dotNewline)
        case "^":
            index += 1
            return flags.multiLine ? .beginLine : .beginText
        case "$":
            index += 1
            return flags.multiLine ? .endLine : .endText
        case "\\":
            return try parseEscapeAtom()
        default:
            index += 1
            return .literal(scalar, foldCase: flags.foldCase)
        }
    }

    private mutating func parseGroup() throws(RE2Error) -> RE2Node? {
        let start = index
        index += 1  // (
        let saved = flags
        var name: String?
        if peek() == "?" {
            let afterQuestion = index + 1
            let named = (peek(1) == "P" && peek(2) == "<") || peek(1) == "<"
            if named {
                let nameStart = peek(1) == "P" ? index + 3 : index + 2
                var cursor = nameStart
                while cursor < scalars.count && scalars[cursor] != ">" { cursor += 1 }
                guard cursor < scalars.count else {
                    throw RE2Error(code: RE2Error.invalidNamedCapture, fragment: text(start, scalars.count))
                }
                let nameScalars = scalars[nameStart..<cursor]
                let valid = !nameScalars.isEmpty && nameScalars.allSatisfy {
                    $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_")
                }
                guard valid else {
                    throw RE2Error(code: RE2Error.invalidNamedCapture, fragment: text(start, cursor + 1))
                }
                var captured = ""
                captured.unicodeScalars.append(contentsOf: nameScalars)
                name = captured
                index = cursor + 1
            } else {
                // Flags: (?flags) or (?flags:re).
                var cursor = afterQuestion
                var updated = flags
                var negate = false
                var sawFlag = false
                while true {
                    guard cursor < scalars.count else {
                        throw RE2Error(code: RE2Error.invalidPerlOp, fragment: text(start, cursor))
                    }
                    let flag = scalars[cursor]
                    cursor += 1
                    switch flag {
                    case "i": updated.foldCase = !negate; sawFlag = true
                    case "m": updated.multiLine = !negate; sawFlag = true
                    case "s": updated.dotNewline = !negate; sawFlag = true
                    case "U": updated.ungreedy = !negate; sawFlag = true
                    case "-" where !negate:
                        negate = true
                        sawFlag = false
                    case ":" where !negate || sawFlag, ")" where !negate || sawFlag:
                        index = cursor
                        if flag == ")" {
                            flags = updated  // lasts to the end of the enclosing group
                            return nil
                        }
                        flags = updated
                        let inner = try parseGroupBody(start: start)
                        flags = saved
                        return .group(inner)
                    default:
                        throw RE2Error(code: RE2Error.invalidPerlOp, fragment: text(start, cursor))
                    }
                }
            }
        }
        captureCount += 1
        let captureIndex = captureCount  // Go numbers groups by their opening parenthesis
        let inner = try parseGroupBody(start: start)
        flags = saved
        return .capture(inner, index: captureIndex, name: name)
    }

    /// The alternation inside a group through its `)`.
    private mutating func parseGroupBody(start: Int) throws(RE2Error) -> RE2Node {
        depth += 1
        if depth > 1000 { throw RE2Error(code: RE2Error.nestingDepth, fragment: source) }
        let inner = try parseAlternation()
        depth -= 1
        guard peek() == ")" else { throw RE2Error(code: RE2Error.missingParen, fragment: source) }
        index += 1
        return inner
    }

    // MARK: Escapes

    private mutating func parseEscapeAtom() throws(RE2Error) -> RE2Node {
        guard let kind = peek(1) else {
            throw RE2Error(code: RE2Error.trailingBackslash, fragment: "")
        }
        switch kind {
        case "A": index += 2; return .beginText
        case "z": index += 2; return .endText
        case "b": index += 2; return .wordBoundary
        case "B": index += 2; return .notWordBoundary
        case "Q":
            index += 2
            var literals: [RE2Node] = []
            while let scalar = peek() {
                if scalar == "\\" && peek(1) == "E" {
                    index += 2
                    break
                }
                literals.append(.literal(scalar, foldCase: flags.foldCase))
                index += 1
            }
            return literals.count == 1 ? literals[0] : (literals.isEmpty ? .empty : .concatenation(literals))
        case "d", "D", "s", "S", "w", "W":
            index += 2
            return .characterClass(Self.perlClass(kind), foldCase: flags.foldCase)
        case "p", "P":
            let set = try parseUnicodeClass()
            return .characterClass(set, foldCase: flags.foldCase)
        default:
            let scalar = try parseEscapedScalar()
            return .literal(scalar, foldCase: flags.foldCase)
        }
    }

    /// A single-character escape at the cursor (`\n`, `\x41`, `\101`, `\.`), as Go's `parseEscape`.
    private mutating func parseEscapedScalar() throws(RE2Error) -> Unicode.Scalar {
        let start = index
        index += 1  // backslash
        guard let kind = peek() else { throw RE2Error(code: RE2Error.trailingBackslash, fragment: "") }
        index += 1
        func invalid(_ end: Int) -> RE2Error { RE2Error(code: RE2Error.invalidEscape, fragment: text(start, end)) }
        switch kind {
        case "1"..."7":
            // A single non-zero digit would be a back-reference: not supported. Two or more make an octal escape.
            guard let next = peek(), ("0"..."7").contains(next) else { throw invalid(index) }
            fallthrough
        case "0":
            var value = kind.value - 48
            for _ in 0..<2 {
                guard let digit = peek(), ("0"..."7").contains(digit) else { break }
                value = value * 8 + digit.value - 48
                index += 1
            }
            return Unicode.Scalar(value) ?? "\u{0}"
        case "x":
            guard let next = peek() else { throw invalid(index) }
            if next == "{" {
                index += 1
                var value: UInt32 = 0
                var digits = 0
                while let digit = peek(), let number = Self.hexValue(digit) {
                    value = min(value * 16 + number, 0x11_0000)
                    digits += 1
                    index += 1
                }
                guard digits > 0, peek() == "}", let scalar = Unicode.Scalar(value) else {
                    throw invalid(min(index + 1, scalars.count))
                }
                index += 1
                return scalar
            }
            guard let high = Self.hexValue(next), let lowScalar = peek(1), let low = Self.hexValue(lowScalar) else {
                throw invalid(min(index + 2, scalars.count))
            }
            index += 2
            return Unicode.Scalar(high * 16 + low) ?? "\u{0}"
        case "a": return "\u{07}"
        case "f": return "\u{0C}"
        case "t": return "\t"
        case "n": return "\n"
        case "r": return "\r"
        case "v": return "\u{0B}"
        default:
            if kind.isASCII && !(kind.properties.isAlphabetic || ("0"..."9").contains(kind)) {
                return kind  // escaped punctuation
            }
            throw invalid(index)
        }
    }

    /// `\pL`, `\p{Greek}`, `\P{Lu}`, `\p{^Nd}` at the cursor.
    private mutating func parseUnicodeClass() throws(RE2Error) -> RE2CharClass {
        let start = index
        var negated = scalars[index + 1] == "P"
        index += 2
        guard let next = peek() else { throw RE2Error(code: RE2Error.invalidCharRange, fragment: text(start, index)) }
        var name: String
        if next == "{" {
            var cursor = index + 1
            while cursor < scalars.count && scalars[cursor] != "}" { cursor += 1 }
            guard cursor < scalars.count else {
                throw RE2Error(code: RE2Error.invalidCharRange, fragment: text(start, scalars.count))
            }
            name = text(index + 1, cursor)
            index = cursor + 1
        } else {
            name = String(next)
            index += 1
        }
        if name.hasPrefix("^") {
            negated.toggle()
            name.removeFirst()
        }
        guard !name.isEmpty, name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || $0 == "_") })
        else {
            throw RE2Error(code: RE2Error.invalidCharRange, fragment: text(start, index))
        }
        var set = RE2CharClass()
        if name == "Any" {
            set.ranges = [0...0x10FFFF]
            set.negated = negated
            return set
        }
        let spelled = Self.generalCategories.contains(name) ? name : "Script=\(name)"
        set.properties = [(negated ? "\\P{" : "\\p{") + spelled + "}"]
        return set
    }

    // MARK: Classes

    /// `[...]` at the cursor. Also returns the source text, for error messages.
    private mutating func parseClass() throws(RE2Error) -> (RE2CharClass, String) {
        let start = index
        index += 1
        var set = RE2CharClass()
        if peek() == "^" {
            set.negated = true
            index += 1
        }
        var first = true
        while true {
            guard let scalar = peek() else {
                throw RE2Error(code: RE2Error.missingBracket, fragment: text(start, scalars.count))
            }
            if scalar == "]" && !first { break }
            first = false
            // POSIX class [:alpha:]
            if scalar == "[" && peek(1) == ":" {
                var cursor = index + 2
                while cursor + 1 < scalars.count && !(scalars[cursor] == ":" && scalars[cursor + 1] == "]") { cursor += 1 }
                if cursor + 1 < scalars.count {
                    var name = text(index + 2, cursor)
                    let fragment = text(index, cursor + 2)
                    var negatedPOSIX = false
                    if name.hasPrefix("^") {
                        negatedPOSIX = true
                        name.removeFirst()
                    }
                    guard let ranges = Self.posixClasses[name] else {
                        throw RE2Error(code: RE2Error.invalidCharRange, fragment: fragment)
                    }
                    set.ranges += negatedPOSIX ? Self.complement(ranges) : ranges
                    index = cursor + 2
                    continue
                }
            }
            if scalar == "\\", let kind = peek(1) {
                switch kind {
                case "d", "D", "s", "S", "w", "W":
                    index += 2
                    let perl = Self.perlClass(kind)
                    set.ranges += perl.negated ? Self.complement(perl.ranges) : perl.ranges
                    continue
                case "p", "P":
                    let unicode = try parseUnicodeClass()
                    if unicode.properties.isEmpty {
                        set.ranges += unicode.negated ? [] : unicode.ranges
                    } else {
                        set.properties += unicode.properties
                    }
                    continue
                default:
                    break
                }
            }
            let rangeStart = index
            let low = try parseClassScalar(classStart: start)
            var high = low
            if peek() == "-", let after = peek(1), after != "]" {
                index += 1
                high = try parseClassScalar(classStart: start)
                if high.value < low.value {
                    throw RE2Error(code: RE2Error.invalidCharRange, fragment: text(rangeStart, index))
                }
            }
            set.ranges.append(low.value...high.value)
        }
        index += 1  // ]
        return (set, text(start, index))
    }

    private mutating func parseClassScalar(classStart: Int) throws(RE2Error) -> Unicode.Scalar {
        guard let scalar = peek() else {
            throw RE2Error(code: RE2Error.missingBracket, fragment: text(classStart, scalars.count))
        }
        if scalar == "\\" {
            guard peek(1) != nil else {
                throw RE2Error(code: RE2Error.missingBracket, fragment: text(classStart, scalars.count))
            }
            return try parseEscapedScalar()
        }
        index += 1
        return scalar
    }

    // MARK: Tables

    static func perlClass(_ kind: Unicode.Scalar) -> RE2CharClass {
        var set = RE2CharClass()
        switch kind {
        case "d", "D": set.ranges = [48...57]
        case "s", "S": set.ranges = [9...10, 12...13, 32...32]
        default: set.ranges = [48...57, 65...90, 95...95, 97...122]
        }
        set.negated = kind.properties.isUppercase
        return set
    }

    static let posixClasses: [String: [ClosedRange<UInt32>]] = [
        "alnum": [48...57, 65...90, 97...122],
        "alpha": [65...90, 97...122],
        "ascii": [0...0x7F],
        "blank": [9...9, 32...32],
        "cntrl": [0...0x1F, 0x7F...0x7F],
        "digit": [48...57],
        "graph": [0x21...0x7E],
        "lower": [97...122],
        "print": [0x20...0x7E],
        "punct": [0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E],
        "space": [9...13, 32...32],
        "upper": [65...90],
        "word": [48...57, 65...90, 95...95, 97...122],
        "xdigit": [48...57, 65...70, 97...102],
    ]

    static let generalCategories: Set<String> = [
        "C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn", "N", "Nd", "Nl",
        "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk", "Sm", "So", "Z", "Zl", "Zp", "Zs",
    ]

    static func complement(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var result: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if range.lowerBound > next { result.append(next...(range.lowerBound - 1)) }
            next = max(next, range.upperBound + 1)
        }
        if next <= 0x10FFFF { result.append(next...0x10FFFF) }
        return result
    }

    public static func hexValue(_ scalar: Unicode.Scalar) -> UInt32? {
        switch scalar {
        case "0"..."9": scalar.value - 48
        case "a"..."f": scalar.value - 87
        case "A"..."F": scalar.value - 55
        default: nil
        }
    }
}
