import Foundation

/// A parsed Alloy file: its text, its statements and its comments.
public struct AlloyFile: Sendable {
    /// The name used in diagnostics, usually the path the file was read from.
    public let name: String
    public let text: String
    public let body: Body
    /// Every comment of the file in source order, grouped by adjacency.
    public let comments: [CommentGroup]
    let lines: LineTable
    let bytes: [UInt8]

    init(name: String, text: String, bytes: [UInt8], lines: LineTable, body: Body, comments: [CommentGroup]) {
        self.name = name
        self.text = text
        self.bytes = bytes
        self.lines = lines
        self.body = body
        self.comments = comments
    }

    /// The text of line `line` (1-based) without its line ending; empty past the end of the file.
    public func sourceLine(_ line: Int) -> String {
        guard let bounds = lines.lineBounds(line) else { return "" }
        var slice = bytes[bounds]
        if slice.last == UInt8(ascii: "\r") {
            slice = slice.dropLast()
        }
        return String(decoding: slice, as: UTF8.self)
    }

    /// A diagnostic about `range` of this file. Secret values are masked in its excerpt and in its message, so
    /// that a configuration error never prints a password (in the reload answer, the log or at start-up).
    public func diagnostic(_ range: SourceRange, _ message: String) -> Diagnostic {
        let masked = maskedSourceLine(range.start.line, column: range.start.column)
        var safeMessage = message
        for text in (masked.hidden + secretLiteralTexts()).sorted(by: { $0.count > $1.count }) where text.count > 3 {
            safeMessage = safeMessage.replacingOccurrences(of: text, with: "(secret)")
        }
        return Diagnostic(
            file: name, range: range, message: safeMessage, sourceLine: masked.text, caretColumn: masked.column)
    }

    /// The source text of `range`.
    public func text(of range: SourceRange) -> String {
        let start = max(0, min(range.start.offset, bytes.count))
        let end = max(start, min(range.end.offset, bytes.count))
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
