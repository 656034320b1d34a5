#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Wire

/// Loki's `discover_log_levels` (`pkg/distributor/field_detection.go`): the `detected_level` structured metadata
/// the distributor adds to an entry that has none.
///
/// The level comes from, in order: a level label of the stream (`level`, `severity`, `lvl`, … in Loki's list),
/// a level field of the entry's structured metadata, OTLP's `severity_number`, then the line itself (a JSON
/// line's level field up to two objects deep, a logfmt line's level key, else keywords such as `[ERROR]` or
/// `warning`). Known spellings are normalised (`WARNING` → `warn`, `inf` → `info`); a line with no sign of a
/// level gets `unknown`.
///
/// Called by the distributor for every entry it accepts, from many requests at once; stateless. An entry's
/// level is one of a few constant arrays when the entry had no structured metadata, so the common case adds
/// no allocation per line.
enum LogLevelDetector {
    /// The structured metadata name Loki 3 uses.
    static let metadataName = "detected_level"

    /// Loki's `defaultAllowedLevelFields`, looked for in labels, structured metadata and JSON/logfmt lines.
    static let levelFields = [
        "level", "LEVEL", "Level", "log.level", "severity", "SEVERITY", "Severity", "SeverityText", "lvl", "LVL",
        "Lvl", "severity_text", "Severity_Text", "SEVERITY_TEXT",
    ]

    /// `[detected_level=<level>]` for each known level, shared by every entry that had no structured metadata.
    private static let shared: [String: [LabelPair]] = {
        var arrays: [String: [LabelPair]] = [:]
        for level in ["trace", "debug", "info", "warn", "error", "critical", "fatal", "unknown"] {
            arrays[level] = [LabelPair(name: metadataName, value: level)]
        }
        return arrays
    }()

    /// The normalised level of the stream's level label, if it has one: computed once per distinct label set.
    static func level(of labels: LabelSet) -> String? {
        for field in levelFields {
            if let value = labels[field] { return normalize(value) }
        }
        return nil
    }

    /// Adds `detected_level` to `entry` unless it has one (which is normalised in place). `streamLevel` is
    /// `level(of:)` of the stream's labels. Returns whether the entry changed.
    static func apply(to entry: inout PushEntry, streamLevel: String?) -> Bool {
        for index in entry.structuredMetadata.indices where entry.structuredMetadata[index].name == metadataName {
            let value = entry.structuredMetadata[index].value
            let normalized = normalize(value)
            guard normalized != value else { return false }
            entry.structuredMetadata[index].value = normalized
            return true
        }
        let level = streamLevel ?? metadataLevel(entry.structuredMetadata) ?? lineLevel(entry.line)
        guard !level.isEmpty else { return false }
        if entry.structuredMetadata.isEmpty, let array = shared[level] {
            entry.structuredMetadata = array
        } else {
            entry.structuredMetadata.append(LabelPair(name: metadataName, value: level))
        }
        return true
    }

    /// A level field of the structured metadata, else OTLP's `severity_number` (Loki's mapping of the OTLP
    /// severity ranges), else nil.
    private static func metadataLevel(_ metadata: [LabelPair]) -> String? {
        guard !metadata.isEmpty else { return nil }
        for field in levelFields {
            for pair in metadata where pair.name == field { return normalize(pair.value) }
        }
        for pair in metadata where pair.name == OTLPPushMapper.severityNumber {
            guard let number = Int(pair.value) else { return "info" }
            switch number {
            case 0: return "unknown"
            case ...4: return "trace"
            case ...8: return "debug"
            case ...12: return "info"
            case ...16: return "warn"
            case ...20: return "error"
            case ...24: return "fatal"
            default: return "unknown"
            }
        }
        return nil
    }

    /// Loki's `normalizeLogLevel`: known spellings (any case) to Loki's names, anything else unchanged.
    static func normalize(_ value: String) -> String {
        var value = value
        return value.withUTF8 { known(UnsafeRawBufferPointer($0)) } ?? value
    }

    /// The level a known spelling stands for, compared ASCII case-insensitively, or nil.
    private static func known(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard bytes.count >= 3, bytes.count <= 11 else { return nil }
        var lower: (UInt64, UInt64) = (0, 0)   // up to 11 lowercased bytes, packed for comparison
        for (index, byte) in bytes.enumerated() {
            let folded = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
            if index < 8 { lower.0 |= UInt64(folded) << (8 * index) } else { lower.1 |= UInt64(folded) << (8 * (index - 8)) }
        }
        for (spelling, level) in spellings where spelling.0 == lower.0 && spelling.1 == lower.1 { return level }
        return nil
    }

    private static let spellings: [((UInt64, UInt64), String)] = [
        ("trace", "trace"), ("trc", "trace"), ("debug", "debug"), ("dbg", "debug"), ("info", "info"),
        ("inf", "info"), ("information", "info"), ("warn", "warn"), ("wrn", "warn"), ("warning", "warn"),
        ("error", "error"), ("err", "error"), ("critical", "critical"), ("fatal", "fatal"),
    ].map { spelling, level in
        var packed: (UInt64, UInt64) = (0, 0)
        for (index, byte) in spelling.utf8.enumerated() {
            if index < 8 { packed.0 |= UInt64(byte) << (8 * index) } else { packed.1 |= UInt64(byte) << (8 * (index - 8)) }
        }
        return (packed, level)
    }

    // MARK: The line

    /// Loki's `extractLogLevelFromLogLine`: a JSON line's level field, a logfmt line's level key, else keywords.
    static func lineLevel(_ line: ArraySlice<UInt8>) -> String {
        line.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            var value: String? = nil
            if isJSON(bytes) {
                value = jsonLevel(bytes)
            } else if let base = raw.baseAddress, memchr(base, Int32(UInt8(ascii: "=")), raw.count) != nil {
                value = logfmtLevel(bytes)
            } else {
                return keywordLevel(raw)
            }
            if let value, let level = known(value) { return level }
            return keywordLevel(raw)
        }
    }

    private static func known(_ value: String) -> String? {
        var value = value
        return value.withUTF8 { known(UnsafeRawBufferPointer($0)) }
    }

    /// First and last non-space bytes are `{` and `}`.
    private static func isJSON(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || ($0 >= 0x09 && $0 <= 0x0D) }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }),
              let last = bytes.lastIndex(where: { !isSpace($0) }) else { return false }
        return bytes[first] == UInt8(ascii: "{") && bytes[last] == UInt8(ascii: "}")
    }

    private struct Malformed: JSONSyntaxFailure {
        init(jsonSyntax reason: String, offset: Int) {}
    }

    /// The first string member, in document order, named like a level field, in the top object or an object
    /// directly inside it (Loki's `log_level_from_json_max_depth` default, 2). Malformed JSON stops the search.
    private static func jsonLevel(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var scanner = JSONScanner<Malformed>(input: bytes)
        defer { scanner.release() }
        scanner.skipWhitespace()
        return try? object(&scanner, depth: 0)
    }

    private static let maxJSONDepth = 2

    private static func object(_ scanner: inout JSONScanner<Malformed>, depth: Int) throws(Malformed) -> String? {
        guard depth < maxJSONDepth else {
            try scanner.skipValue()
            return nil
        }
        guard try scanner.beginObject() else { return nil }
        repeat {
            let isLevelField = isLevelFieldName(try scanner.key())
            switch try scanner.peek() {
            case UInt8(ascii: "\""):
                let value = try scanner.string()
                if isLevelField { return String(decoding: value, as: UTF8.self) }
            case UInt8(ascii: "{"):
                if let found = try object(&scanner, depth: depth + 1) { return found }
            default:
                try scanner.skipValue()
            }
        } while try scanner.nextMember()
        return nil
    }

    private static func isLevelFieldName(_ key: UnsafeBufferPointer<UInt8>) -> Bool {
        levelFields.contains { $0.utf8.elementsEqual(key) }
    }

    /// Loki's `getValueUsingLogfmtParser` with the level fields: the value of the key (any case) that comes
    /// first in the field list, the first such key winning.
    private static func logfmtLevel(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var best: (rank: Int, value: String)? = nil
        var position = 0
        let count = bytes.count
        while position < count {
            while position < count && bytes[position] <= 0x20 { position += 1 }
            let keyStart = position
            while position < count && bytes[position] > 0x20 && bytes[position] != UInt8(ascii: "=")
                && bytes[position] != UInt8(ascii: "\"") { position += 1 }
            let key = UnsafeBufferPointer(rebasing: bytes[keyStart..<position])
            var valueRange = position..<position
            var quoted = false
            if position < count && bytes[position] == UInt8(ascii: "=") {
                position += 1
                if position < count && bytes[position] == UInt8(ascii: "\"") {
                    quoted = true
                    position += 1
                    let start = position
                    while position < count && bytes[position] != UInt8(ascii: "\"") {
                        position += bytes[position] == UInt8(ascii: "\\") ? 2 : 1
                    }
                    valueRange = start..<min(position, count)
                    position += 1
                } else {
                    let start = position
                    while position < count && bytes[position] > 0x20 { position += 1 }
                    valueRange = start..<position
                }
            } else if position < count && bytes[position] > 0x20 {
                position += 1   // a stray quote: move on
            }
            guard !key.isEmpty else { continue }
            let rank = levelFields.firstIndex { field in
                field.utf8.count == key.count && zip(field.utf8, key).allSatisfy { a, b in
                    (a >= 0x41 && a <= 0x5A ? a | 0x20 : a) == (b >= 0x41 && b <= 0x5A ? b | 0x20 : b)
                }
            }
            if let rank, rank < (best?.rank ?? Int.max) {
                let raw = UnsafeBufferPointer(rebasing: bytes[valueRange])
                best = (rank, quoted ? unescaped(raw) : String(decoding: raw, as: UTF8.self))
                if rank == 0 { break }
            }
        }
        return best?.value
    }

    /// A quoted logfmt value without its backslashes (`\"` is `"`); enough to read a level.
    private static func unescaped(_ raw: UnsafeBufferPointer<UInt8>) -> String {
        guard raw.contains(UInt8(ascii: "\\")) else { return String(decoding: raw, as: UTF8.self) }
        var bytes: [UInt8] = []
        var escaped = false
        for byte in raw {
            if !escaped && byte == UInt8(ascii: "\\") {
                escaped = true
                continue
            }
            escaped = false
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Loki's `detectLevelFromLogLine`: the first group with a keyword in the line, in Loki's order.
    private static func keywordLevel(_ line: UnsafeRawBufferPointer) -> String {
        for (needles, level) in keywords where needles.contains(where: { contains(line, $0) }) { return level }
        return "unknown"
    }

    private static let keywords: [([[UInt8]], String)] = [
        (["info", "INFO"], "info"),
        (["err:", "ERR:", "[err]", "[ERR]", "[error]", "[ERROR]"], "error"),
        (["warn:", "WARN:", "[warn]", "[WARN]", "warning", "WARNING"], "warn"),
        (["critical:", "CRITICAL:", "[critical]", "[CRITICAL]"], "critical"),
        (["debug", "DEBUG"], "debug"),
    ].map { needles, level in (needles.map { Array($0.utf8) }, level) }

    /// Whether `needle` occurs in `haystack`: `memchr` to each candidate first byte, then `memcmp`.
    private static func contains(_ haystack: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
        guard let base = haystack.baseAddress, let first = needle.first, haystack.count >= needle.count else {
            return false
        }
        return needle.withUnsafeBytes { needleBytes in
            guard let needleBase = needleBytes.baseAddress else { return false }
            let last = haystack.count - needle.count
            var offset = 0
            while offset <= last {
                guard let hit = memchr(base + offset, Int32(first), last - offset + 1) else { return false }
                let at = UnsafeRawPointer(hit) - base
                if memcmp(base + at, needleBase, needle.count) == 0 { return true }
                offset = at + 1
            }
            return false
        }
    }
}
