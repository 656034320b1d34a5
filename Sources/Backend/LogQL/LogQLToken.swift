/// A LogQL token, classified as Loki's lexer (`pkg/logql/syntax/lex.go`, on Go's `text/scanner`) classifies it, so
/// syntax errors name tokens as Loki does: `IDENTIFIER`, `STRING`, `NUMBER`, `$end`, `|=`, `json`, `RATE`, ...
struct LogQLToken: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case end
        case identifier
        case string
        case number
        case duration
        case bytes
        case range
        case flag
        /// Punctuation and operators: `{`, `|=`, `==`, ...
        case symbol
        /// Words Loki reserves wherever they appear (`or`, `json`, `by`, ...), lowercased.
        case keyword
        /// A function name followed by `(` (or `by`/`without`): `rate`, `sum`, ..., lowercased.
        case function
    }

    var kind: Kind
    /// The symbol, keyword or function name; the source text for other kinds.
    var text: String
    /// 1-based line and column (in characters) where the token starts; 0 and 0 for the end of an empty query.
    var line: Int
    var column: Int
    /// For strings: the unquoted bytes (Go strings may hold any bytes, `"\xff"`).
    var value: [UInt8] = []

    /// The token as goyacc names it in Loki's messages.
    var yaccName: String {
        switch kind {
        case .end: "$end"
        case .identifier: "IDENTIFIER"
        case .string: "STRING"
        case .number: "NUMBER"
        case .duration: "DURATION"
        case .bytes: "BYTES"
        case .range: "RANGE"
        case .flag: "FUNCTION_FLAG"
        case .symbol, .keyword: text
        case .function: LogQLLexer.functionTokenNames[text] ?? text.uppercased()
        }
    }

    func isSymbol(_ symbol: String) -> Bool { kind == .symbol && text == symbol }
    func isKeyword(_ keyword: String) -> Bool { kind == .keyword && text == keyword }
}
