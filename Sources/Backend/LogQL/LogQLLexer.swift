import Wire

/// Splits a query into `LogQLToken`s on demand. Lexical errors use Loki's text (`literal not terminated`,
/// `invalid char escape`) at the start of the token, as Loki reports them.
struct LogQLLexer: ScalarScanning {
    let scalars: [Unicode.Scalar]
    var index = 0
    var line = 1
    var column = 1

    init(_ query: String) {
        scalars = Array(query.unicodeScalars)
    }

    // MARK: Vocabulary (Loki's `tokens` and `functionTokens` maps)

    static let keywords: Set<String> = [
        "by", "without", "bool", "label_replace", "offset", "on", "ignoring", "group_left", "group_right", "or", "and",
        "unless", "json", "regexp", "logfmt", "unpack", "pattern", "label_format", "line_format", "ip", "decolorize",
        "drop", "keep", "variants", "of", "unwrap",
    ]

    /// Function names and the yacc token names Loki's messages use for them.
    static let functionTokenNames: [String: String] = [
        "rate": "RATE", "rate_counter": "RATE_COUNTER", "count_over_time": "COUNT_OVER_TIME",
        "bytes_rate": "BYTES_RATE", "bytes_over_time": "BYTES_OVER_TIME", "avg_over_time": "AVG_OVER_TIME",
        "sum_over_time": "SUM_OVER_TIME", "min_over_time": "MIN_OVER_TIME", "max_over_time": "MAX_OVER_TIME",
        "stdvar_over_time": "STDVAR_OVER_TIME", "stddev_over_time": "STDDEV_OVER_TIME",
        "quantile_over_time": "QUANTILE_OVER_TIME", "first_over_time": "FIRST_OVER_TIME",
        "last_over_time": "LAST_OVER_TIME", "absent_over_time": "ABSENT_OVER_TIME", "vector": "VECTOR",
        "sum": "SUM", "avg": "AVG", "max": "MAX", "min": "MIN", "count": "COUNT", "stddev": "STDDEV",
        "stdvar": "STDVAR", "bottomk": "BOTTOMK", "topk": "TOPK", "sort": "SORT", "sort_desc": "SORT_DESC",
        "label_replace": "label_replace", "approx_topk": "APPROX_TOPK", "bytes": "BYTES_CONV",
        "duration": "DURATION_CONV", "duration_seconds": "DURATION_SECONDS_CONV", "ip": "ip",
    ]

    static let twoCharacterSymbols: Set<String> = ["!=", "=~", "!~", "!>", "|=", "|~", "|>", "==", ">=", "<="]
    static let oneCharacterSymbols: Set<Unicode.Scalar> = [
        ",", ".", "{", "}", "=", "|", "(", ")", "]", "+", "-", "*", "/", "%", "^", ">", "<",
    ]

    // MARK: Scanning

    private func error(_ message: String, _ line: Int, _ column: Int) -> LogQLError {
        LogQLError(line: line, column: column, message: message)
    }

    /// Whitespace and comments (`#` to the end of the line, and Go's `//` and `/* */`, which Go's scanner skips).
    private mutating func skipSpaceAndComments() throws(LogQLError) {
        while let scalar = peek() {
            switch scalar {
            case " ", "\t", "\n", "\r":
                advance()
            case "#":
                while let next = peek(), next != "\n" { advance() }
            case "/" where peek(1) == "/":
                while let next = peek(), next != "\n" { advance() }
            case "/" where peek(1) == "*":
                let (startLine, startColumn) = (line, column)
                advance()
                advance()
                while true {
                    guard let next = peek() else { throw error("comment not terminated", startLine, startColumn) }
                    if next == "*" && peek(1) == "/" {
                        advance()
                        advance()
                        break
                    }
                    advance()
                }
            default:
                return
            }
        }
    }

    mutating func next() throws(LogQLError) -> LogQLToken {
        try skipSpaceAndComments()
        let (startLine, startColumn) = (line, column)
        func token(_ kind: LogQLToken.Kind, _ text: String) -> LogQLToken {
            LogQLToken(kind: kind, text: text, line: startLine, column: startColumn)
        }
        guard let scalar = peek() else {
            // Go's scanner reports the end of an empty input at line 0, column 0.
            return scalars.isEmpty ? LogQLToken(kind: .end, text: "", line: 0, column: 0) : token(.end, "")
        }
        let start = index

        if Self.isLetter(scalar) {
            while let next = peek(), Self.isLetter(next) || Self.isDigit(next) { advance() }
            let text = String(String.UnicodeScalarView(scalars[start..<index]))
            let lower = text.lowercased()
            if Self.functionTokenNames[lower] != nil {
                return isFunctionCall() ? token(.function, lower) : token(.identifier, text)
            }
            if Self.keywords.contains(lower) { return token(.keyword, lower) }
            return token(.identifier, text)
        }
        if Self.isDigit(scalar) || (scalar == "." && peek(1).map(Self.isDigit) == true) {
            return scanNumber(startLine, startColumn)
        }
        switch scalar {
        case "\"":
            advance()
            let value = try scanQuoted(quote: "\"", startLine, startColumn)
            return LogQLToken(kind: .string, text: text(from: start), line: startLine, column: startColumn,
                              value: value)
        case "`":
            advance()
            var value: [UInt8] = []
            while true {
                guard let next = peek() else { throw error("literal not terminated", startLine, startColumn) }
                advance()
                if next == "`" { break }
                // Go drops carriage returns from raw strings.
                if next != "\r" { value.append(contentsOf: String(Character(next)).utf8) }
            }
            return LogQLToken(kind: .string, text: text(from: start), line: startLine, column: startColumn,
                              value: value)
        case "'":
            // A Go character literal: Loki has no use for it and sees an identifier.
            advance()
            var count = 0
            while true {
                guard let next = peek(), next != "\n" else {
                    throw error("literal not terminated", startLine, startColumn)
                }
                advance()
                if next == "'" { break }
                if next == "\\" { _ = try scanEscape(quote: "'", startLine, startColumn) }
                count += 1
            }
            if count != 1 { throw error("invalid char literal", startLine, startColumn) }
            return token(.identifier, text(from: start))
        case "[":
            advance()
            var body = ""
            while true {
                guard let next = peek() else {
                    throw error("missing closing ']' in duration", startLine, startColumn)
                }
                advance()
                if next == "]" { break }
                body.unicodeScalars.append(next)
            }
            guard LogQLDurations.isPrometheusDuration(body) else {
                throw error(body.isEmpty ? "empty duration string" : "not a valid duration string: \"\(body)\"",
                            startLine, startColumn)
            }
            return token(.range, text(from: start))
        case "-":
            advance()
            if peek() == "-" {
                var cursor = index
                var flag = "-"
                while cursor < scalars.count, scalars[cursor] == "-" || scalars[cursor].properties.isAlphabetic {
                    flag.unicodeScalars.append(scalars[cursor])
                    cursor += 1
                }
                if flag == "--strict" || flag == "--keep-empty" {
                    while index < cursor { advance() }
                    return token(.flag, flag)
                }
            }
            // A negative duration such as `-5m`.
            var cursor = index
            while cursor < scalars.count, Self.isDurationCharacter(scalars[cursor]) { cursor += 1 }
            if cursor > index, LogQLDurations.isGoDuration("-" + String(String.UnicodeScalarView(scalars[index..<cursor]))) {
                while index < cursor { advance() }
                return token(.duration, text(from: start))
            }
            return token(.symbol, "-")
        default:
            break
        }
        advance()
        if let second = peek() {
            var pair = String(scalar)
            pair.unicodeScalars.append(second)
            if Self.twoCharacterSymbols.contains(pair) {
                advance()
                return token(.symbol, pair)
            }
        }
        if Self.oneCharacterSymbols.contains(scalar) { return token(.symbol, String(scalar)) }
        // Anything else (`@`, `;`, `!`, ...) is an identifier to Loki.
        return token(.identifier, String(scalar))
    }

    private func text(from start: Int) -> String {
        String(String.UnicodeScalarView(scalars[start..<index]))
    }

    /// Loki's `isFunction`: the next non-space text is `(`, or `by`/`without` and then `(`.
    private func isFunctionCall() -> Bool {
        var cursor = index
        func skipSpace() {
            while cursor < scalars.count, [" ", "\t", "\n", "\r"].contains(scalars[cursor]) { cursor += 1 }
        }
        skipSpace()
        guard cursor < scalars.count else { return false }
        if scalars[cursor] == "(" { return true }
        for word in ["by", "without"] {
            let letters = Array(word.unicodeScalars)
            if cursor + letters.count <= scalars.count,
               zip(scalars[cursor..<(cursor + letters.count)], letters).allSatisfy({
                   String($0.0).lowercased() == String($0.1)
               }) {
                cursor += letters.count
                skipSpace()
                return cursor < scalars.count && scalars[cursor] == "("
            }
        }
        return false
    }

    /// A Go number, then, as Loki does, a duration (`5m`) or byte size (`10MB`) suffix when one follows.
    private mutating func scanNumber(_ startLine: Int, _ startColumn: Int) -> LogQLToken {
        let start = index
        if peek() == "0", let x = peek(1), x == "x" || x == "X" {
            advance()
            advance()
            while let next = peek(), next.properties.isASCIIHexDigit || next == "_" { advance() }
        } else {
            while let next = peek(), Self.isDigit(next) || next == "_" { advance() }
            if peek() == "." {
                advance()
                while let next = peek(), Self.isDigit(next) || next == "_" { advance() }
            }
            if let e = peek(), e == "e" || e == "E" {
                let sign = peek(1)
                let digitAt = (sign == "+" || sign == "-") ? 2 : 1
                if let digit = peek(digitAt), Self.isDigit(digit) {
                    for _ in 0..<digitAt { advance() }
                    while let next = peek(), Self.isDigit(next) { advance() }
                }
            }
        }
        let number = text(from: start)
        for (isSuffix, isValid, kind) in [
            (Self.isDurationCharacter, LogQLDurations.isDuration, LogQLToken.Kind.duration),
            (Self.isBytesCharacter, LogQLDurations.isBytes, LogQLToken.Kind.bytes),
        ] as [((Unicode.Scalar) -> Bool, (String) -> Bool, LogQLToken.Kind)] {
            var cursor = index
            while cursor < scalars.count, isSuffix(scalars[cursor]) { cursor += 1 }
            if cursor > index, isValid(number + String(String.UnicodeScalarView(scalars[index..<cursor]))) {
                while index < cursor { advance() }
                return LogQLToken(kind: kind, text: text(from: start), line: startLine, column: startColumn)
            }
        }
        return LogQLToken(kind: .number, text: number, line: startLine, column: startColumn)
    }

    /// The body of a double-quoted string after its opening quote, through the closing quote; Go's escapes.
    private mutating func scanQuoted(quote: Unicode.Scalar, _ startLine: Int, _ startColumn: Int)
        throws(LogQLError) -> [UInt8]
    {
        var value: [UInt8] = []
        while true {
            guard let next = peek(), next != "\n" else { throw error("literal not terminated", startLine, startColumn) }
            advance()
            if next == quote { return value }
            if next == "\\" {
                value.append(contentsOf: try scanEscape(quote: quote, startLine, startColumn))
            } else {
                value.append(contentsOf: String(Character(next)).utf8)
            }
        }
    }

    /// One escape after the backslash: Go's `scanEscape` checks plus `strconv.Unquote`'s value.
    private mutating func scanEscape(quote: Unicode.Scalar, _ startLine: Int, _ startColumn: Int)
        throws(LogQLError) -> [UInt8]
    {
        guard let kind = peek() else { throw error("literal not terminated", startLine, startColumn) }
        let simple: [Unicode.Scalar: UInt8] = ["a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92]
        if let byte = simple[kind] {
            advance()
            return [byte]
        }
        if kind == quote {
            advance()
            return Array(String(quote).utf8)
        }
        var digits: Int
        var base: UInt32
        switch kind {
        case "0"..."7":
            digits = 3; base = 8
        case "x":
            advance(); digits = 2; base = 16
        case "u":
            advance(); digits = 4; base = 16
        case "U":
            advance(); digits = 8; base = 16
        default:
            throw error("invalid char escape", startLine, startColumn)
        }
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let digit = peek(), let number = RE2Parser.hexValue(digit), number < base else {
                throw error("invalid char escape", startLine, startColumn)
            }
            value = value * base + number
            advance()
        }
        switch kind {
        case "0"..."7", "x":
            guard value <= 255 else { throw error("invalid syntax", startLine, startColumn) }
            return [UInt8(value)]
        default:
            guard let scalar = Unicode.Scalar(value) else { throw error("invalid syntax", startLine, startColumn) }
            return Array(String(Character(scalar)).utf8)
        }
    }

    // MARK: Character classes

    /// Go's identifier letters: `_` and Unicode letters.
    static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            return ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || scalar == "_"
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isDigit(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII ? ("0"..."9").contains(scalar) : scalar.properties.generalCategory == .decimalNumber
    }

    static func isDurationCharacter(_ scalar: Unicode.Scalar) -> Bool {
        isDigit(scalar) || scalar == "." || "nuµmshdwy".unicodeScalars.contains(scalar)
    }

    static func isBytesCharacter(_ scalar: Unicode.Scalar) -> Bool {
        isDigit(scalar) || scalar == "." || "BikKMGTP".unicodeScalars.contains(scalar)
    }
}
