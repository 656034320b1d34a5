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

    /// A diagnostic about `range` of this file.
    public func diagnostic(_ range: SourceRange, _ message: String) -> Diagnostic {
        Diagnostic(file: name, range: range, message: message, sourceLine: sourceLine(range.start.line))
    }

    /// The source text of `range`.
    public func text(of range: SourceRange) -> String {
        let start = max(0, min(range.start.offset, bytes.count))
        let end = max(start, min(range.end.offset, bytes.count))
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
