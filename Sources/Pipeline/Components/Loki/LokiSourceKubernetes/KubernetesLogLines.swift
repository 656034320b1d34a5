import Wire

/// Splits the body of `GET /api/v1/namespaces/{ns}/pods/{pod}/log?timestamps=true` into lines and each line into
/// the time the kubelet gives it and its text: `2026-12-01T10:00:00.123456789Z text\n`.
///
/// Bytes come in chunks cut anywhere; a line is complete at its `\n` (dropped). A line that does not start with an
/// RFC 3339 time (with or without a fraction, `Z` or `±hh:mm`) and a space keeps its whole text and has no
/// timestamp, as Alloy's `parseKubernetesLog` does; the caller gives it the time it was read. A line longer than
/// ``maxLineBytes`` is cut into pieces of that size, each one entry with the first piece's timestamp, so hostile
/// input costs bounded memory. What is left unterminated when the stream ends is not a line: the next request
/// reads it again whole.
///
/// Used by one tail task at a time.
struct KubernetesLogLines {
    struct Line: Equatable, Sendable {
        /// Nanoseconds since the epoch; nil when the line has no valid timestamp.
        var timestamp: Int64?
        var text: [UInt8]
    }

    /// Alloy's parser has no limit; this one keeps one line to 4 MiB per container in memory.
    static let defaultMaxLineBytes = 4 << 20

    let maxLineBytes: Int
    private var pending: [UInt8] = []
    /// The timestamp of a line that was cut at ``maxLineBytes`` and goes on (`.some(nil)` when it had none).
    private var continuing: Int64?? = nil

    init(maxLineBytes: Int = Self.defaultMaxLineBytes) {
        self.maxLineBytes = max(maxLineBytes, 64)
    }

    /// Appends the complete lines in `bytes` (with what was pending before them) to `lines`.
    mutating func feed(_ bytes: some Collection<UInt8>, into lines: inout [Line]) {
        var rest = bytes[...]
        while !rest.isEmpty {
            let newline = rest.firstIndex(of: 0x0A)
            var segment = rest[..<(newline ?? rest.endIndex)]
            while pending.count + segment.count >= maxLineBytes {
                let split = segment.index(segment.startIndex, offsetBy: maxLineBytes - pending.count)
                pending.append(contentsOf: segment[..<split])
                segment = segment[split...]
                emit(pending, into: &lines, cut: true)
                pending.removeAll(keepingCapacity: true)
            }
            guard let newline else {
                pending.append(contentsOf: segment)
                return
            }
            if pending.isEmpty {
                emit(Array(segment), into: &lines)
            } else {
                pending.append(contentsOf: segment)
                emit(pending, into: &lines)
                pending.removeAll(keepingCapacity: true)
            }
            continuing = nil
            rest = rest[rest.index(after: newline)...]
        }
    }

    /// Bytes of an unfinished line (dropped when the stream ends).
    var pendingBytes: Int { pending.count }

    private mutating func emit(_ raw: [UInt8], into lines: inout [Line], cut: Bool = false) {
        if let timestamp = continuing {
            if raw.isEmpty { return }  // the cut fell right before the newline
            lines.append(Line(timestamp: timestamp, text: raw))
            return
        }
        let line = Self.parse(raw[...])
        lines.append(line)
        if cut { continuing = .some(line.timestamp) }
    }

    /// One line without its `\\n`: the timestamp before the first space, and the text after it.
    static func parse(_ raw: ArraySlice<UInt8>) -> Line {
        guard let space = raw.firstIndex(of: 0x20) else { return Line(timestamp: nil, text: Array(raw)) }
        let timestamp = raw[..<space].withContiguousStorageIfAvailable { RFC3339Time.parse($0) }
            ?? Array(raw[..<space]).withUnsafeBufferPointer { RFC3339Time.parse($0) }
        guard let timestamp else { return Line(timestamp: nil, text: Array(raw)) }
        return Line(timestamp: timestamp, text: Array(raw[raw.index(after: space)...]))
    }

    /// `sinceTime` for the API: RFC 3339 in UTC at whole seconds, rounded down (`metav1.Time` carries no
    /// fraction, so the server starts at the second and the caller skips what it already has).
    static func sinceTime(_ nanoseconds: Int64) -> String {
        let (seconds, _) = floorDivision(nanoseconds, 1_000_000_000)
        let (days, secondOfDay) = floorDivision(seconds, 86_400)
        let (year, month, day) = Civil.date(days: days)
        func pad(_ value: Int, _ width: Int = 2) -> String {
            let text = String(value)
            return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
        }
        let time = "\(pad(Int(secondOfDay / 3600))):\(pad(Int(secondOfDay / 60 % 60))):\(pad(Int(secondOfDay % 60)))"
        return "\(pad(year, 4))-\(pad(month))-\(pad(day))T\(time)Z"
    }

    private static func floorDivision(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        let (q, r) = a.quotientAndRemainder(dividingBy: b)
        return r < 0 ? (q - 1, r + b) : (q, r)
    }
}
