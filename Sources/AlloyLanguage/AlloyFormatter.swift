/// Prints an Alloy file in canonical form, as `alloy fmt` does: tabs for indentation, `=` aligned within runs of
/// consecutive single-line attributes, trailing comments aligned, at most one blank line kept between statements,
/// a blank line before every block, comments kept where they were, and a final newline.
///
/// The algorithm is Alloy's: a walker sends tokens and abstract whitespace to a printer, which places comments by
/// source position and emits text with elastic tabstops that a tab writer then aligns. Two deliberate departures,
/// both to keep the output a faithful, parseable copy of the input: string literals pass through the tab writer
/// untouched (a multi-line raw string keeps its tabs and trailing spaces), and an empty argument list spread over
/// lines does not gain a comma.
public enum AlloyFormatter {
    public static func format(_ file: AlloyFile) -> String {
        var printer = FormatPrinter(comments: file.comments)
        var walker = FormatWalker(printer: printer)
        walker.walkStatements(file.body.statements)
        printer = walker.printer
        printer.flushAtEnd()
        let aligned = ElasticTabWriter.format(printer.output)
        return String(decoding: trimTrailingWhitespace(aligned), as: UTF8.self) + "\n"
    }

    /// Parses and formats `text`.
    public static func format(name: String, text: String) throws(Diagnostics) -> String {
        format(try AlloyParser.parse(name: name, text: text))
    }

    /// Drops the escape markers around literal text and the blanks at the end of every line.
    static func trimTrailingWhitespace(_ data: [UInt8]) -> [UInt8] {
        enum State { case space, escape, text }
        var out: [UInt8] = []
        out.reserveCapacity(data.count)
        var state = State.space
        var space: [UInt8] = []
        var mark = 0
        for (index, raw) in data.enumerated() {
            let byte = raw == 0x0B ? 0x09 : raw
            switch state {
            case .space:
                switch byte {
                case 0x09, 0x20:
                    space.append(byte)
                case 0x0A, 0x0C:
                    space.removeAll()
                    out.append(0x0A)
                case ElasticTabWriter.escape:
                    out += space
                    space.removeAll()
                    state = .escape
                    mark = index + 1
                default:
                    out += space
                    space.removeAll()
                    state = .text
                    mark = index
                }
            case .escape:
                if byte == ElasticTabWriter.escape {
                    out += data[mark..<index]
                    state = .space
                }
            case .text:
                switch byte {
                case 0x09, 0x20:
                    out += data[mark..<index]
                    state = .space
                    space = [byte]
                case 0x0A, 0x0C:
                    out += data[mark..<index]
                    state = .space
                    out.append(0x0A)
                case ElasticTabWriter.escape:
                    out += data[mark..<index]
                    state = .escape
                    mark = index + 1
                default:
                    break
                }
            }
        }
        if state != .space {
            out += data[mark...]
        }
        return out
    }
}
