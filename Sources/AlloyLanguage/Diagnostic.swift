/// One problem found in an Alloy file, positioned for an operator to find it.
///
/// Its `description` reads
/// ```
/// config.alloy:3:9: expected =, got IDENT
/// 	foo bar
/// 	    ^
/// ```
/// where the caret line repeats the tabs of the source line so the caret sits under the column.
public struct Diagnostic: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var range: SourceRange
    public var message: String
    /// The text of the line holding `range.start`, for the caret display, with secret values shown as
    /// `(secret)` (see ``SecretAttributes``).
    public var sourceLine: String
    /// The byte column of `sourceLine` the caret points at: `range.start.column`, moved when a secret before it
    /// was masked.
    public var caretColumn: Int

    public init(file: String, range: SourceRange, message: String, sourceLine: String, caretColumn: Int? = nil) {
        self.file = file
        self.range = range
        self.message = message
        self.sourceLine = sourceLine
        self.caretColumn = caretColumn ?? range.start.column
    }

    /// `file:line:column`.
    public var location: String { "\(file):\(range.start.line):\(range.start.column)" }

    public var description: String {
        "\(location): \(message)\n\(sourceLine)\n\(Self.caretPrefix(line: sourceLine, column: caretColumn))^"
    }

    /// Whitespace reaching byte column `column` of `line`: a tab where the line has a tab, a space for any other
    /// character, one per character so that multi-byte characters still line up.
    static func caretPrefix(line: String, column: Int) -> String {
        var prefix = ""
        var byteColumn = 1
        for scalar in line.unicodeScalars {
            if byteColumn >= column { break }
            prefix.append(scalar == "\t" ? "\t" : " ")
            byteColumn += String(scalar).utf8.count
        }
        if byteColumn < column {
            prefix += String(repeating: " ", count: column - byteColumn)
        }
        return prefix
    }
}

/// Every problem found in one file, reported together.
public struct Diagnostics: Error, Sendable, CustomStringConvertible {
    public var items: [Diagnostic]

    public init(_ items: [Diagnostic]) {
        self.items = items
    }

    public var description: String {
        items.map(\.description).joined(separator: "\n")
    }
}
