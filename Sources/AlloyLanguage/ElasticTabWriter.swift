/// Aligns columns with elastic tabstops, as Go's `text/tabwriter` does with the settings Alloy's printer uses
/// (minimum width 0, tab width 8, padding 1, pad with spaces, `DiscardEmptyColumns | TabIndent`).
///
/// Text is cut into cells by `\t` and `\v` (a `\t`-terminated cell is a "hard" tab); lines end at `\n` or `\f`,
/// and `\f` also ends the block of lines whose columns align together. A column is as wide as its widest cell in
/// a run of consecutive lines that have that column, plus one space. Leading empty cells become tabs. Text between
/// two `escape` bytes is copied without interpretation (its width still counts).
enum ElasticTabWriter {
    static let escape: UInt8 = 0xFF

    private struct Cell {
        var bytes: ArraySlice<UInt8>
        /// Width in characters, escape markers excluded.
        var width: Int
        var hardTab: Bool
    }

    static func format(_ input: [UInt8]) -> [UInt8] {
        var lines: [[Cell]] = [[]]
        var sectionEnds: [Int] = []  // Index of the first line after each `\f`.
        var cellStart = 0
        var inEscape = false

        func terminate(_ end: Int, hardTab: Bool) {
            let bytes = input[cellStart..<end]
            var width = 0
            for byte in bytes where byte & 0xC0 != 0x80 && byte != escape {
                width += 1
            }
            lines[lines.count - 1].append(Cell(bytes: bytes, width: width, hardTab: hardTab))
        }

        for (index, byte) in input.enumerated() {
            if inEscape {
                if byte == escape { inEscape = false }
                continue
            }
            switch byte {
            case escape:
                inEscape = true
            case 0x09, 0x0B, 0x0A, 0x0C:
                terminate(index, hardTab: byte == 0x09)
                cellStart = index + 1
                if byte == 0x0A || byte == 0x0C {
                    lines.append([])
                    if byte == 0x0C { sectionEnds.append(lines.count - 1) }
                }
            default:
                break
            }
        }
        if cellStart < input.count {
            terminate(input.count, hardTab: false)
        }

        var writer = Writer(lines: lines)
        var start = 0
        for end in sectionEnds + [lines.count] where end > start {
            writer.format(start, end)
            start = end
        }
        return writer.output
    }

    private struct Writer {
        let lines: [[Cell]]
        var widths: [Int] = []
        var output: [UInt8] = []

        init(lines: [[Cell]]) {
            self.lines = lines
        }

        mutating func format(_ first: Int, _ end: Int) {
            var line0 = first
            let column = widths.count
            var this = first
            while this < end {
                if column >= lines[this].count - 1 {
                    this += 1
                    continue
                }
                // A block of consecutive lines that all have a cell in this column starts here.
                writeLines(line0, this)
                line0 = this
                var width = 0
                var discardable = true
                while this < end && column < lines[this].count - 1 {
                    let cell = lines[this][column]
                    width = max(width, cell.width + 1)
                    if cell.width > 0 || cell.hardTab {
                        discardable = false
                    }
                    this += 1
                }
                if discardable {
                    width = 0
                }
                widths.append(width)
                format(line0, this)
                widths.removeLast()
                line0 = this
            }
            writeLines(line0, end)
        }

        private mutating func writeLines(_ first: Int, _ end: Int) {
            guard first < end else { return }
            for index in first..<end {
                var useTabs = true
                for (column, cell) in lines[index].enumerated() {
                    if cell.bytes.isEmpty {
                        if column < widths.count {
                            pad(cell.width, widths[column], useTabs: useTabs)
                        }
                    } else {
                        useTabs = false
                        output += cell.bytes
                        if column < widths.count {
                            pad(cell.width, widths[column], useTabs: false)
                        }
                    }
                }
                if index + 1 < lines.count {
                    output.append(0x0A)
                }
            }
        }

        private mutating func pad(_ textWidth: Int, _ cellWidth: Int, useTabs: Bool) {
            if useTabs {
                let rounded = (cellWidth + 7) / 8 * 8
                let count = max(0, (rounded - textWidth + 7) / 8)
                output += [UInt8](repeating: 0x09, count: count)
            } else {
                output += [UInt8](repeating: 0x20, count: max(0, cellWidth - textWidth))
            }
        }
    }
}
