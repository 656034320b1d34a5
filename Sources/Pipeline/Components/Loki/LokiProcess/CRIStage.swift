import AlloyLanguage
import Collections
import Wire

/// `stage.cri`: reads the CRI log format (`<time> <stream> <flags> <content>`) with a hand-written parser (the hot
/// path of every node agent), as Alloy's `cri.ParseCRI` reads it: the line becomes `content`, the timestamp comes
/// from `time` (RFC3339Nano; kept when it does not parse), the `stream` label is set, and `time`, `stream`,
/// `flags`, `content` go into the extracted map. A line that is not CRI passes unchanged.
///
/// Partial lines (flag `P`) are held per stream (the label set after `stream` is set) and joined, in order, to the
/// stream's next full line. When `max_partial_lines` streams hold partial lines and another partial line comes,
/// every held line is sent on as it is (counted in `loki_process_cri_partial_lines_flushed_total`), ahead of the
/// batch. With `max_partial_line_size_truncate`, held and joined lines are cut to `max_partial_line_size` bytes
/// (`loki_process_cri_lines_truncated_total`).
struct CRIStage: ProcessStage {
    struct Config: Sendable, Equatable {
        /// `max_partial_lines`: how many streams may hold partial lines at once.
        var maxPartialLines = 100
        /// `max_partial_line_size`: the longest a held or joined line may be, in bytes, when truncating.
        var maxPartialLineSize = 0
        /// `max_partial_line_size_truncate`: cut longer lines to `max_partial_line_size`.
        var maxPartialLineSizeTruncate = false

        init() {}

        init(_ reader: ArgumentReader) throws(Diagnostic) {
            maxPartialLines = try reader.int("max_partial_lines", default: maxPartialLines)
            maxPartialLineSize = try reader.int("max_partial_line_size", default: maxPartialLineSize)
            maxPartialLineSizeTruncate = try reader.bool(
                "max_partial_line_size_truncate", default: maxPartialLineSizeTruncate)
            guard maxPartialLines > 0 else {
                throw reader.error("max_partial_lines", "max_partial_lines must be greater than 0, got \(maxPartialLines)")
            }
            guard maxPartialLineSize >= 0 else {
                throw reader.error(
                    "max_partial_line_size", "max_partial_line_size must be 0 or more, got \(maxPartialLineSize)")
            }
        }
    }

    private static let streamName = ["stream"]
    private static let stdoutChange: [LabelChange] = [.set("stdout")]
    private static let stderrChange: [LabelChange] = [.set("stderr")]

    let config: Config
    /// Partial lines held per stream, oldest stream first.
    private(set) var held: OrderedDictionary<LabelSet, ProcessEntry> = [:]
    private var labels = LabelEditCache()

    init(_ config: Config) {
        self.config = config
    }

    mutating func process(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        var flushed: [ProcessEntry] = []
        for index in entries.indices where !entries[index].removed {
            guard let fields = CRIParser.parse(entries[index].entry.line) else { continue }
            apply(fields, to: &entries[index])
            let stream = entries[index].entry.labels
            if fields.partial {
                if held.count >= config.maxPartialLines {
                    context.partialLinesFlushed += held.count
                    context.warnings.append(
                        "cri stage: partial lines upperbound exceeded, merging it to single line (threshold \(config.maxPartialLines))")
                    flushed.append(contentsOf: held.values)
                    held.removeAll()
                } else if let previous = held[stream] {
                    entries[index].entry.line = previous.entry.line + entries[index].entry.line
                }
                truncate(&entries[index], &context)
                held[stream] = entries[index]
                entries[index].removed = true
            } else if let previous = held.removeValue(forKey: stream) {
                entries[index].entry.line = previous.entry.line + entries[index].entry.line
                truncate(&entries[index], &context)
            }
        }
        if !flushed.isEmpty {
            // As Alloy does: lines sent on early go ahead of the batch.
            entries.insert(contentsOf: flushed, at: 0)
        }
    }

    /// Stopping: partial lines still waiting for their `F` fragment go out as they are (as Alloy flushes them).
    mutating func releaseAll(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        entries.append(contentsOf: held.values)
        held.removeAll()
    }

    private mutating func apply(_ fields: CRIFields, to entry: inout ProcessEntry) {
        entry.entry.line = Array(fields.raw[fields.content])
        if let timestamp = fields.raw.withUnsafeBufferPointer({ RFC3339Time.parse(UnsafeBufferPointer(rebasing: $0[fields.time])) }) {
            entry.entry.timestamp = timestamp
        }
        let key = fields.stream == .stdout ? Self.stdoutChange : Self.stderrChange
        entry.entry.labels = labels.output(for: entry.entry.labels, key: key) {
            $0.applying(names: Self.streamName, changes: key)
        }
        entry.setCRI(fields)
    }

    private func truncate(_ entry: inout ProcessEntry, _ context: inout StageContext) {
        guard config.maxPartialLineSizeTruncate, entry.entry.line.count > config.maxPartialLineSize else { return }
        entry.entry.line.removeSubrange(config.maxPartialLineSize...)
        context.linesTruncated += 1
    }
}

/// Alloy's `cri.ParseCRI`, byte for byte: the timestamp is the text up to the first white space (not checked),
/// then spaces, `stdout` or `stderr` (anything else: not CRI), spaces, an optional `P` or `F` flag (a missing
/// flag means full), spaces, and the rest is the content (possibly empty).
enum CRIParser {
    static func parse(_ line: [UInt8]) -> CRIFields? {
        line.withUnsafeBufferPointer { bytes -> CRIFields? in
            let count = bytes.count
            var position = 0
            var time = 0..<0
            if let space = firstWhiteSpace(bytes) {
                time = 0..<space
                position = skipSpaces(bytes, from: space)
            }
            let stream: CRIFields.Stream
            if hasPrefix(bytes, at: position, "stdout") {
                stream = .stdout
            } else if hasPrefix(bytes, at: position, "stderr") {
                stream = .stderr
            } else {
                return nil
            }
            position = skipSpaces(bytes, from: position + 6)
            var partial = false
            if position < count {
                switch bytes[position] {
                case UInt8(ascii: "P"):
                    partial = true
                    position += 1
                case UInt8(ascii: "F"):
                    position += 1
                default:
                    break
                }
                position = skipSpaces(bytes, from: position)
            }
            return CRIFields(raw: line, time: time, content: position..<count, stream: stream, partial: partial)
        }
    }

    private static func skipSpaces(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var position = start
        while position < bytes.count, bytes[position] == UInt8(ascii: " ") { position += 1 }
        return position
    }

    private static func hasPrefix(_ bytes: UnsafeBufferPointer<UInt8>, at position: Int, _ word: StaticString) -> Bool {
        let length = word.utf8CodeUnitCount
        guard bytes.count - position >= length else { return false }
        let start = word.utf8Start
        for offset in 0..<length where bytes[position + offset] != start[offset] { return false }
        return true
    }

    /// The offset of the first rune Go's `unicode.IsSpace` accepts; invalid UTF-8 counts as not space.
    private static func firstWhiteSpace(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var position = 0
        while position < bytes.count {
            let byte = bytes[position]
            if byte < 0x80 {
                switch byte {
                case 0x20, 0x09...0x0D: return position
                default: position += 1
                }
                continue
            }
            if isUnicodeSpace(bytes, at: position) { return position }
            position += 1
        }
        return nil
    }

    /// The non-ASCII runes of Unicode's White_Space property, in UTF-8: U+0085, U+00A0, U+1680, U+2000...U+200A,
    /// U+2028, U+2029, U+202F, U+205F, U+3000.
    private static func isUnicodeSpace(_ bytes: UnsafeBufferPointer<UInt8>, at position: Int) -> Bool {
        let remaining = bytes.count - position
        let b0 = bytes[position]
        if b0 == 0xC2, remaining >= 2 { return bytes[position + 1] == 0x85 || bytes[position + 1] == 0xA0 }
        guard remaining >= 3 else { return false }
        let b1 = bytes[position + 1]
        let b2 = bytes[position + 2]
        switch (b0, b1) {
        case (0xE1, 0x9A): return b2 == 0x80
        case (0xE2, 0x80): return (0x80...0x8A).contains(b2) || b2 == 0xA8 || b2 == 0xA9 || b2 == 0xAF
        case (0xE2, 0x81): return b2 == 0x9F
        case (0xE3, 0x80): return b2 == 0x80
        default: return false
        }
    }
}
