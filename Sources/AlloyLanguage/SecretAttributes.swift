/// The attribute names that Alloy types as `secret` (`alloytypes.Secret`) in the components Estuary has:
/// `loki.write`'s `bearer_token`, `basic_auth { password }`, `authorization { credentials }` and
/// `oauth2 { client_secret }` (refused, but still never shown), and the Kubernetes discovery clients'
/// `bearer_token`. `ArgumentReader.secret(_:)` reads exactly these, so the list and the schema agree.
///
/// A string assigned to one of them becomes a secret, as in Alloy: the UI API shows `(secret)`, and a diagnostic
/// whose source excerpt holds the value shows `(secret)` in its place.
public enum SecretAttributes {
    public static let names: Set<String> = ["password", "bearer_token", "credentials", "client_secret"]
}

extension AlloyFile {
    /// The source excerpt of `line` with every secret value replaced by `(secret)`, and where byte column
    /// `column` of the original line lands in the masked one.
    ///
    /// Masked are (a) the literals in the value of an attribute named in ``SecretAttributes/names`` (found in the
    /// syntax tree: `"pw"` in `password = "pw" + x`, so that a caret at `x` still points at `x`; or, when the line
    /// does not parse, by its `name = "..."` text up to the closing quote or the end of the line), and (b) the
    /// source text of a string literal given to such an attribute anywhere in the file, wherever else it appears
    /// on the line.
    func maskedSourceLine(_ line: Int, column: Int) -> (text: String, column: Int, hidden: [String]) {
        guard let bounds = lines.lineBounds(line) else { return ("", column, []) }
        var lineBytes = Array(bytes[bounds])
        if lineBytes.last == UInt8(ascii: "\r") { lineBytes.removeLast() }
        let lineStart = bounds.lowerBound
        let lineEnd = lineStart + lineBytes.count

        var spans: [Range<Int>] = []
        var literals: Set<[UInt8]> = []
        Self.secretLiterals(in: body) { range, text in
            let low = max(range.start.offset, lineStart)
            let high = min(range.end.offset, lineEnd)
            if low < high { spans.append((low - lineStart)..<(high - lineStart)) }
            if let text, text.utf8.count > 2 { literals.insert(Array(text.utf8)) }
        }
        spans += Self.assignedSecretSpans(lineBytes)
        for literal in literals {
            var start = 0
            while start + literal.count <= lineBytes.count {
                if lineBytes[start..<(start + literal.count)].elementsEqual(literal) {
                    spans.append(start..<(start + literal.count))
                    start += literal.count
                } else {
                    start += 1
                }
            }
        }
        guard !spans.isEmpty else { return (String(decoding: lineBytes, as: UTF8.self), column, []) }

        // Merge overlapping spans, then rebuild the line and move the caret with the text it points at.
        spans.sort { $0.lowerBound < $1.lowerBound }
        var merged: [Range<Int>] = []
        for span in spans {
            if let last = merged.last, span.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, span.upperBound)
            } else {
                merged.append(span)
            }
        }
        let replacement = Array("(secret)".utf8)
        var out: [UInt8] = []
        var hidden: [String] = []
        var caret: Int?
        var shift = 0
        var cursor = 0
        for span in merged {
            out += lineBytes[cursor..<span.lowerBound]
            if caret == nil {
                if column - 1 < span.lowerBound {
                    caret = column - 1 + shift
                } else if column - 1 < span.upperBound {
                    caret = span.lowerBound + shift  // inside the secret: point at "(secret)"
                } else {
                    shift += replacement.count - span.count
                }
            }
            out += replacement
            hidden.append(String(decoding: lineBytes[span], as: UTF8.self))
            cursor = span.upperBound
        }
        out += lineBytes[cursor...]
        let caretOffset = caret ?? (column - 1 + shift)
        return (String(decoding: out, as: UTF8.self), caretOffset + 1, hidden)
    }

    /// The string literals given to secret attributes, as written (quoted) and as text, for masking messages.
    func secretLiteralTexts() -> [String] {
        var texts: [String] = []
        Self.secretLiterals(in: body) { _, text in
            guard let text else { return }
            texts.append(text)
            texts.append(String(text.dropFirst().dropLast()))
        }
        return texts
    }

    /// Calls `found` with the range of every literal in the value of an attribute named in
    /// ``SecretAttributes/names``, and its source text when it is a string (`"pw"` in `password = "pw" + x`).
    private static func secretLiterals(in body: Body, _ found: (SourceRange, String?) -> Void) {
        for statement in body.statements {
            switch statement {
            case .attribute(let attribute):
                guard SecretAttributes.names.contains(attribute.name) else { continue }
                literals(in: attribute.value, found)
            case .block(let block):
                secretLiterals(in: block.body, found)
            }
        }
    }

    private static func literals(in expression: Expression, _ found: (SourceRange, String?) -> Void) {
        switch expression {
        case .literal(let literal):
            found(literal.range, literal.kind == .string ? literal.text : nil)
        case .identifier: break
        case .array(let elements, _):
            for element in elements { literals(in: element, found) }
        case .object(let fields, _):
            for field in fields { literals(in: field.value, found) }
        case .access(let base, _, _): literals(in: base, found)
        case .index(let base, let index, _):
            literals(in: base, found)
            literals(in: index, found)
        case .call(let function, let arguments, _):
            literals(in: function, found)
            for argument in arguments { literals(in: argument, found) }
        case .unary(_, let operand, _): literals(in: operand, found)
        case .binary(_, let left, let right, _):
            literals(in: left, found)
            literals(in: right, found)
        case .paren(let inner, _): literals(in: inner, found)
        }
    }

    /// `password = "..."` written on the line, found by its text (for lines the parser could not read): the span
    /// from the opening quote to the closing one, or to the end of the line when the string is not closed.
    static func assignedSecretSpans(_ line: [UInt8]) -> [Range<Int>] {
        func isIdentifierByte(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: "_") || (byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A)
        }
        var spans: [Range<Int>] = []
        var index = 0
        while index < line.count {
            guard isIdentifierByte(line[index]), index == 0 || !isIdentifierByte(line[index - 1]) else {
                index += 1
                continue
            }
            var end = index
            while end < line.count, isIdentifierByte(line[end]) { end += 1 }
            let name = String(decoding: line[index..<end], as: UTF8.self)
            index = end
            guard SecretAttributes.names.contains(name) else { continue }
            var cursor = end
            while cursor < line.count, line[cursor] == 0x20 || line[cursor] == 0x09 { cursor += 1 }
            guard cursor < line.count, line[cursor] == UInt8(ascii: "="),
                  cursor + 1 >= line.count || line[cursor + 1] != UInt8(ascii: "=") else { continue }
            cursor += 1
            while cursor < line.count, line[cursor] == 0x20 || line[cursor] == 0x09 { cursor += 1 }
            guard cursor < line.count, line[cursor] == UInt8(ascii: "\"") || line[cursor] == UInt8(ascii: "`") else {
                continue
            }
            let quote = line[cursor]
            var close = cursor + 1
            while close < line.count, line[close] != quote {
                close += (quote == UInt8(ascii: "\"") && line[close] == UInt8(ascii: "\\")) ? 2 : 1
            }
            let stop = min(close + 1, line.count)
            spans.append(cursor..<stop)
            index = stop
        }
        return spans
    }
}
