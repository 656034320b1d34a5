import GoCompat
import Wire

/// A value of Alloy's extracted map: what JSON, logfmt and regex stages find, as Go keeps it (`map[string]any`
/// holding strings, float64 numbers, bools and nil).
public enum ExtractedValue: Sendable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    /// Alloy's `getString`: numbers as `strconv.FormatFloat(v, 'f', -1, 64)`, bools as `true`/`false`; nil for
    /// `null`, which stages that need a string skip.
    public var text: String? {
        switch self {
        case .string(let text): text
        case .number(let number): GoFloatFormat.fixed(number)
        case .bool(let flag): flag ? "true" : "false"
        case .null: nil
        }
    }
}

/// What `stage.cri` found in a line, kept as ranges of the original line so that the common path (`cri` then
/// `labels`) fills the extracted map without allocating: `time`, `stream`, `flags` and `content` are read from
/// here until a stage writes the map.
struct CRIFields: Sendable {
    enum Stream: Sendable { case stdout, stderr }

    /// The line as it came in (shared with the sender's buffer, never copied).
    var raw: [UInt8]
    var time: Range<Int>
    var content: Range<Int>
    var stream: Stream
    var partial: Bool

    var streamName: String { stream == .stdout ? "stdout" : "stderr" }

    func value(_ key: String) -> ExtractedValue? {
        switch key {
        case "stream": .string(streamName)
        // Alloy's `Flag.String()` is "P" for partial lines and empty for full ones.
        case "flags": .string(partial ? "P" : "")
        case "content": .string(String(decoding: raw[content], as: UTF8.self))
        case "time": .string(String(decoding: raw[time], as: UTF8.self))
        default: nil
        }
    }

    static let keys = ["content", "flags", "stream", "time"]
}

/// One entry on its way through `loki.process`: the entry, its extracted map, and whether a stage removed it.
///
/// The extracted map starts as the entry's labels (as Alloy starts it) but is not built: reads go to `overlay`
/// (what stages wrote), then to `cri` (what `stage.cri` found), then to `base` (the labels the entry came in with).
/// Nothing is allocated until a stage writes a value other than `stage.cri`'s.
public struct ProcessEntry: Sendable {
    public var entry: LogEntry
    /// Set by a stage that dropped or held back the entry; the pipeline removes such entries once, at the end.
    public var removed = false
    let base: LabelSet
    var cri: CRIFields?
    var overlay: [String: ExtractedValue]?

    public init(_ entry: LogEntry) {
        self.entry = entry
        base = entry.labels
    }

    /// The extracted value called `key`, nil when there is none.
    public func extracted(_ key: String) -> ExtractedValue? {
        if let value = overlay?[key] { return value }
        if let cri, let value = cri.value(key) { return value }
        return base[key].map { .string($0) }
    }

    /// The extracted value as text (Alloy's `getString`); nil when absent or `null`.
    public func extractedText(_ key: String) -> String? {
        extracted(key)?.text
    }

    public func hasExtracted(_ key: String) -> Bool {
        extracted(key) != nil
    }

    public mutating func setExtracted(_ key: String, _ value: ExtractedValue) {
        if overlay == nil { overlay = [:] }
        overlay?[key] = value
    }

    /// The whole extracted map, built (for the stages that look at every key: `template`, `structured_metadata`
    /// with `regex`).
    public func allExtracted() -> [String: ExtractedValue] {
        var all: [String: ExtractedValue] = [:]
        for pair in base.pairs { all[pair.name] = .string(pair.value) }
        if let cri {
            for key in CRIFields.keys { all[key] = cri.value(key) }
        }
        if let overlay {
            for (key, value) in overlay { all[key] = value }
        }
        return all
    }

    /// Records what `stage.cri` parsed: into the overlay when one exists (so that it wins over older writes),
    /// otherwise into the allocation-free slot.
    mutating func setCRI(_ fields: CRIFields) {
        if overlay != nil {
            for key in CRIFields.keys { overlay?[key] = fields.value(key) }
            cri = nil
        } else {
            cri = fields
        }
    }

    /// The line as text.
    var lineText: String { String(decoding: entry.line, as: UTF8.self) }
}
