// The printer half of the formatter: places comments by source position and emits text with elastic tabs.

/// Abstract whitespace the walker asks for; the printer decides what of it to emit around comments.
enum FormatWhitespace: UInt8 {
    case ignore = 0
    case blank = 0x20
    /// Ends an aligned cell (before an attribute's `=`).
    case verticalTab = 0x0B
    case newline = 0x0A
    /// A newline that also ends the current run of aligned lines.
    case formfeed = 0x0C
    case indent = 0x3E
    case unindent = 0x3C
}

enum FormatItem {
    case whitespace(FormatWhitespace)
    case identifier(String)
    case literal(String, TokenKind)
    /// Sets the printer's idea of where it is in the source, so comments land before the right token.
    case position(SourcePosition)
    case token(TokenKind)
}

struct FormatPrinter {
    var output: [UInt8] = []
    private var indent = 0
    /// Kind of the last token written; nil after whitespace.
    private var lastToken: TokenKind?
    private var whitespace: [FormatWhitespace] = []
    private let comments: [CommentGroup]
    private var nextGroup = 0
    private var currentGroup: CommentGroup?
    /// Estimated position in source space.
    private var position = SourcePosition(line: 1, column: 1, offset: 0)
    /// Whether the next item to write was given its source position (only such items take comments before them).
    private var positioned = false
    /// Source-space position after the last text written.
    private var last = SourcePosition(line: 0, column: 0, offset: 0)
    /// Column in the output, for indentation.
    private var outColumn = 1
    /// Line breaks written so far: whether a statement spans lines in the output, whatever it did in the source.
    private(set) var lineBreaks = 0

    init(comments: [CommentGroup]) {
        self.comments = comments
        advanceComment()
    }

    private mutating func advanceComment() {
        while nextGroup < comments.count {
            let group = comments[nextGroup]
            nextGroup += 1
            if !group.comments.isEmpty {
                currentGroup = group
                return
            }
        }
        currentGroup = nil
    }

    private func commentBefore(_ next: SourcePosition) -> Bool {
        guard let first = currentGroup?.comments.first else { return false }
        return first.range.start.offset <= next.offset
    }

    mutating func write(_ items: FormatItem...) {
        for item in items {
            let data: String
            var literal = false
            switch item {
            case .whitespace(let ws):
                if ws == .ignore { continue }
                whitespace.append(ws)
                lastToken = nil
                continue
            case .identifier(let name):
                data = name
                lastToken = .identifier
            case .literal(let text, let kind):
                data = text
                lastToken = kind
                literal = kind == .string
            case .position(let newPosition):
                position = newPosition
                positioned = true
                continue
            case .token(let kind):
                data = kind.description
                if Self.mayCombine(lastToken, data.utf8.first), whitespace.isEmpty {
                    whitespace = [.blank]
                }
                lastToken = kind
            }
            let next = position
            if positioned {
                flush(next, token: lastToken)
            } else {
                // A token the walker gives no source position (a selector's dot, `=`, a comma) never takes the
                // comments before it: its estimated position differs between the source and the formatted text, so
                // a comment would move across it at each formatting. They go before the next positioned item.
                writeWhitespace(whitespace.count)
            }
            positioned = false
            writeString(next, data, literal: literal)
        }
    }

    /// Whether the previous token and the next character would scan as one token if written together.
    private static func mayCombine(_ previous: TokenKind?, _ next: UInt8?) -> Bool {
        switch previous {
        case .number: next == UInt8(ascii: ".")
        case .divide: next == UInt8(ascii: "*")
        default: false
        }
    }

    mutating func flushAtEnd() {
        flush(SourcePosition(line: .max, column: .max, offset: .max), token: .eof)
    }

    private mutating func flush(_ next: SourcePosition, token: TokenKind?) {
        if commentBefore(next) {
            injectComments(next, token: token)
        } else if token != .eof {
            writeWhitespace(whitespace.count)
        }
    }

    private mutating func injectComments(_ next: SourcePosition, token: TokenKind?) {
        var lastComment: Comment?
        while commentBefore(next), let group = currentGroup {
            for comment in group.comments {
                writeCommentPrefix(next, comment)
                writeString(comment.range.start, comment.text, literal: true)
                lastComment = comment
            }
            advanceComment()
        }
        if let lastComment {
            writeCommentSuffix(next, token: token, lastComment: lastComment)
        }
    }

    private mutating func writeCommentPrefix(_ next: SourcePosition, _ comment: Comment) {
        guard !output.isEmpty else { return }
        let start = comment.range.start
        if start.line == last.line {
            // A comment on the line of the last token: a tab aligns it with its neighbours' comments, a space
            // keeps a block comment followed by more code on the same line.
            writeByte(start.line == next.line ? 0x20 : 0x09, count: 1)
            return
        }
        // Emit pending indentation changes up to the first real whitespace, which the comment replaces.
        var count = 0
        for (index, ws) in whitespace.enumerated() {
            if ws == .indent || ws == .unindent { continue }
            if ws != .ignore {
                whitespace[index] = .ignore
            }
            count = index
            break
        }
        writeWhitespace(count)
        if last.line > 0 {
            let newlines = start.line - last.line
            if newlines > 0 {
                writeByte(0x0C, count: min(newlines, 2))
            }
        }
    }

    private mutating func writeCommentSuffix(_ next: SourcePosition, token: TokenKind?, lastComment: Comment) {
        guard token != .eof else { return }
        if lastComment.isBlock && next.line == lastComment.range.end.line {
            writeByte(0x20, count: 1)
        }
        let newlines = next.line - last.line
        var droppedFormfeed = false
        for index in whitespace.indices {
            switch whitespace[index] {
            case .blank, .verticalTab: whitespace[index] = .ignore
            case .indent, .unindent, .ignore: continue
            case .newline, .formfeed:
                if whitespace[index] == .formfeed { droppedFormfeed = true }
                whitespace[index] = .ignore
            }
        }
        writeWhitespace(whitespace.count)
        if newlines > 0 {
            writeByte(droppedFormfeed ? 0x0C : 0x0A, count: min(newlines, 2))
        }
    }

    private mutating func writeString(_ at: SourcePosition, _ text: String, literal: Bool) {
        if outColumn == 1 {
            writeIndent()
        }
        position = at
        let bytes = Array(text.utf8)
        if literal {
            output.append(ElasticTabWriter.escape)
        }
        output += bytes
        if literal {
            output.append(ElasticTabWriter.escape)
        }
        var newlines = 0
        var lastNewline = 0
        // Only a newline ends a line in source space: a form feed inside a comment or raw string is just a byte.
        for (index, byte) in bytes.enumerated() where byte == 0x0A {
            newlines += 1
            lastNewline = index
        }
        position.offset += bytes.count
        lineBreaks += newlines
        if newlines > 0 {
            position.line += newlines
            position.column = bytes.count - lastNewline
            outColumn = bytes.count - lastNewline
        } else {
            position.column += bytes.count
            outColumn += bytes.count
        }
        last = position
    }

    private mutating func writeIndent() {
        output += [UInt8](repeating: 0x09, count: indent)
        position.offset += indent
        position.column += indent
        outColumn += indent
    }

    private mutating func writeByte(_ byte: UInt8, count: Int) {
        if outColumn == 1 {
            writeIndent()
        }
        output += [UInt8](repeating: byte, count: count)
        position.offset += count
        if byte == 0x0A || byte == 0x0C {
            lineBreaks += count
            position.line += count
            position.column = 1
            outColumn = 1
            return
        }
        position.column += count
        outColumn += count
    }

    private mutating func writeWhitespace(_ count: Int) {
        let count = min(count, whitespace.count)
        for ws in whitespace[..<count] {
            switch ws {
            case .ignore: break
            case .indent: indent += 1
            case .unindent: indent = max(0, indent - 1)
            default: writeByte(ws.rawValue, count: 1)
            }
        }
        whitespace.removeFirst(count)
    }
}
