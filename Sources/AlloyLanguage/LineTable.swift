/// Maps byte offsets of a file to line and column positions.
struct LineTable: Sendable {
    /// Byte offset of the first byte of each line.
    private(set) var lineStarts: [Int]
    let byteCount: Int

    init(_ bytes: [UInt8]) {
        var starts = [0]
        for (index, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            starts.append(index + 1)
        }
        lineStarts = starts
        byteCount = bytes.count
    }

    var lineCount: Int { lineStarts.count }

    func position(_ offset: Int) -> SourcePosition {
        let offset = max(0, min(offset, byteCount))
        // Last line start <= offset.
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= offset {
                low = mid
            } else {
                high = mid - 1
            }
        }
        return SourcePosition(line: low + 1, column: offset - lineStarts[low] + 1, offset: offset)
    }

    func range(_ start: Int, _ end: Int) -> SourceRange {
        SourceRange(start: position(start), end: position(end))
    }

    /// Byte range of line `line` (1-based) without its newline.
    func lineBounds(_ line: Int) -> Range<Int>? {
        guard line >= 1, line <= lineStarts.count else { return nil }
        let start = lineStarts[line - 1]
        var end = line < lineStarts.count ? lineStarts[line] - 1 : byteCount
        end = max(start, end)
        return start..<end
    }
}
