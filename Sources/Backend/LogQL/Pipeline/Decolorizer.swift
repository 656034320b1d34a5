import Wire

/// `| decolorize`: removes ANSI escape sequences with Loki's pattern (from acarl005/stripansi).
enum Decolorizer {
    static let regex: RE2Regex? = try? RE2Regex(
        "[\u{1B}\u{9B}][[\\]()#;?]*(?:(?:(?:[a-zA-Z\\d]*(?:;[a-zA-Z\\d]*)*)?\u{07})|(?:(?:\\d{1,4}(?:;\\d{0,4})*)?[\\dA-PRZcf-ntqry=><~]))",
        dotMatchesNewline: false)

    /// The line without escape sequences, or nil when it has none.
    static func strip(_ line: UnsafeRawBufferPointer) -> [UInt8]? {
        // ESC, or the first byte of U+009B (C2 9B): without either there is nothing to remove.
        guard line.contains(0x1B) || line.contains(0xC2), let regex else { return nil }
        let matches = regex.allMatchOffsets(line)
        guard !matches.isEmpty else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(line.count)
        var last = 0
        for match in matches {
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: line[last..<match[0]]))
            last = match[1]
        }
        out.append(contentsOf: UnsafeRawBufferPointer(rebasing: line[last...]))
        return out
    }
}
