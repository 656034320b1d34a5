import AlloyLanguage
import GoCompat
import Wire

/// `stage.drop`: drops entries that meet every condition given (`longer_than`, `older_than`, `source` present,
/// `expression` matching the line or the `source` values joined with `separator`, `value` equal to them),
/// counted in `loki_process_dropped_lines_total` with `drop_counter_reason` (default `drop_stage`).
struct DropStage: ProcessStage {
    struct Config: Sendable, Equatable {
        var reason = "drop_stage"
        var sources: [String] = []
        var separator = ";"
        /// `expression`, or `value` as an exact match.
        var expression: String?
        var olderThan: Duration?
        var longerThan: Int?

        init(_ reader: ArgumentReader) throws(Diagnostic) {
            let reason = try reader.string("drop_counter_reason", default: "")
            if !reason.isEmpty { self.reason = reason }
            let source = try reader.string("source", default: "")
            sources = source.isEmpty ? [] : source.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let separator = try reader.string("separator", default: "")
            if !separator.isEmpty { self.separator = separator }
            let expression = try reader.string("expression", default: "")
            let value = try reader.string("value", default: "")
            let older = try reader.duration("older_than", default: .zero)
            olderThan = older == .zero ? nil : older
            let longer = try reader.byteSize("longer_than", default: 0)
            longerThan = longer == 0 ? nil : longer
            if !value.isEmpty && !expression.isEmpty {
                throw reader.error("value", "value and expression cannot both be set in \(reader.name)")
            }
            if !value.isEmpty && sources.isEmpty {
                throw reader.error("value", "value needs source: it is compared with the extracted value(s) named there")
            }
            if sources.isEmpty && expression.isEmpty && olderThan == nil && longerThan == nil {
                throw reader.blockError("\(reader.name) needs at least one of source, expression, older_than or longer_than")
            }
            if !expression.isEmpty {
                _ = try compileRegex(reader, "expression", expression)
                self.expression = expression
            } else if !value.isEmpty {
                self.expression = "^" + Self.quoteMeta(value) + "$"
            }
        }

        /// Go's `regexp.QuoteMeta`.
        static func quoteMeta(_ text: String) -> String {
            var out = ""
            for character in text.unicodeScalars {
                if "\\.+*?()|[]{}^$".unicodeScalars.contains(character) { out.unicodeScalars.append("\\") }
                out.unicodeScalars.append(character)
            }
            return out
        }
    }

    let config: Config
    private let regex: RE2Regex?

    init(_ config: Config) {
        self.config = config
        regex = config.expression.flatMap { try? RE2Regex($0, dotMatchesNewline: false) }
    }

    mutating func process(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        for index in entries.indices where !entries[index].removed {
            if shouldDrop(entries[index], now: context.now) {
                context.drop(&entries[index], reason: config.reason)
            }
        }
    }

    func shouldDrop(_ entry: ProcessEntry, now: Int64) -> Bool {
        if let longerThan = config.longerThan, entry.entry.line.count <= longerThan { return false }
        if let olderThan = config.olderThan {
            let cutoff = now - DurationText.nanoseconds(olderThan)
            guard entry.entry.timestamp < cutoff else { return false }
        }
        if !config.sources.isEmpty && regex == nil {
            return config.sources.allSatisfy { entry.hasExtracted($0) }
        }
        if let regex {
            if config.sources.isEmpty { return regex.firstMatch(entry.lineText) }
            var values: [String] = []
            for source in config.sources {
                guard let value = entry.extracted(source) else { continue }
                guard let text = value.text else { return false }
                values.append(text)
            }
            return regex.firstMatch(values.joined(separator: config.separator))
        }
        return true
    }
}

/// `stage.tenant`: sets the `__tenant_id__` label (which `loki.write` sends as `X-Scope-OrgID`) from a fixed
/// `value`, the extracted value `source`, or the label `label`; nothing changes when that is empty or missing.
struct TenantStage: ProcessStage {
    enum From: Sendable, Equatable {
        case value(String)
        case source(String)
        case label(String)
    }

    struct Config: Sendable, Equatable {
        var from: From

        init(_ reader: ArgumentReader) throws(Diagnostic) {
            let label = try reader.string("label", default: "")
            let source = try reader.string("source", default: "")
            let value = try reader.string("value", default: "")
            let given = [label, source, value].filter { !$0.isEmpty }.count
            guard given == 1 else {
                throw reader.blockError(given == 0
                    ? "\(reader.name) needs one of label, source or value"
                    : "label, source and value are mutually exclusive in \(reader.name): set only one")
            }
            from = !label.isEmpty ? .label(label) : !source.isEmpty ? .source(source) : .value(value)
        }
    }

    static let tenantLabel = ["__tenant_id__"]

    let config: Config
    private var cache = LabelEditCache()

    init(_ config: Config) {
        self.config = config
    }

    mutating func process(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        for index in entries.indices where !entries[index].removed {
            let tenant: String? = switch config.from {
            case .value(let value): value
            case .source(let source): entries[index].extractedText(source)
            case .label(let label): entries[index].entry.labels[label]
            }
            guard let tenant, !tenant.isEmpty else { continue }
            let change: [LabelChange] = [.set(tenant)]
            entries[index].entry.labels = cache.output(for: entries[index].entry.labels, key: change) {
                $0.applying(names: Self.tenantLabel, changes: change)
            }
        }
    }
}

/// `stage.logfmt`: parses the line (or the extracted value `source`) as logfmt and puts the keys named in
/// `mapping` (`{ extracted name = "logfmt key" }`, an empty key meaning the same name) and, with `regex`, every
/// key that matches, into the extracted map as strings. Each line of the input is one record; a record that does
/// not parse ends the parsing (what earlier records gave is kept).
struct LogfmtStage: ProcessStage {
    struct Config: Sendable, Equatable {
        /// logfmt key → extracted name.
        var mapping: [String: String] = [:]
        var source: String?
        var regex: String = ""

        init(_ reader: ArgumentReader) throws(Diagnostic) {
            for (name, key) in try readStringMap(reader, "mapping") {
                mapping[key.isEmpty ? name : key] = name
            }
            let source = try reader.string("source", default: "")
            self.source = source.isEmpty ? nil : source
            regex = try reader.string("regex", default: "")
            if !regex.isEmpty { _ = try compileRegex(reader, "regex", regex) }
            if mapping.isEmpty && regex.isEmpty {
                throw reader.blockError("\(reader.name) needs mapping or regex")
            }
        }
    }

    let config: Config
    private let regex: RE2Regex?

    init(_ config: Config) {
        self.config = config
        regex = config.regex.isEmpty ? nil : try? RE2Regex(config.regex, dotMatchesNewline: false)
    }

    mutating func process(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        for index in entries.indices where !entries[index].removed {
            let input: [UInt8]
            if let source = config.source {
                guard let text = entries[index].extractedText(source) else { continue }
                input = Array(text.utf8)
            } else {
                input = entries[index].entry.line
            }
            for record in input.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                var line = record
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                guard let pairs = try? LogfmtDecoder.decodeLine(line) else { break }
                for pair in pairs {
                    let key = String(decoding: pair.key, as: UTF8.self)
                    let value = ExtractedValue.string(String(decoding: pair.value, as: UTF8.self))
                    if let name = config.mapping[key] { entries[index].setExtracted(name, value) }
                    if let regex, regex.firstMatch(key) { entries[index].setExtracted(key, value) }
                }
            }
        }
    }
}

/// `stage.pack`: replaces the line with a JSON object of the listed extracted values (labels included) and the
/// line under `_entry`, keys sorted, and removes the packed names from the labels; with `ingest_timestamp`
/// (the default) the timestamp becomes the time of processing.
struct PackStage: ProcessStage {
    struct Config: Sendable, Equatable {
        var labels: [String]
        var ingestTimestamp = true

        init(_ reader: ArgumentReader) throws(Diagnostic) {
            try reader.requirePresent("labels")
            labels = try reader.stringList("labels")
            ingestTimestamp = try reader.bool("ingest_timestamp", default: ingestTimestamp)
        }
    }

    let config: Config
    private let names: [String]
    private var cache = LabelEditCache()

    init(_ config: Config) {
        self.config = config
        names = Array(Set(config.labels)).sorted()
    }

    mutating func process(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        for index in entries.indices where !entries[index].removed {
            var out: [UInt8] = [UInt8(ascii: "{")]
            var packed: Set<String> = []
            for name in names {
                guard let text = entries[index].extractedText(name) else { continue }
                if out.count > 1 { out.append(UInt8(ascii: ",")) }
                GoJSON.appendString(name, to: &out)
                out.append(UInt8(ascii: ":"))
                GoJSON.appendString(text, to: &out)
                packed.insert(name)
            }
            if out.count > 1 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #""_entry":"#.utf8)
            entries[index].entry.line.withUnsafeBufferPointer { JSONString.append($0, to: &out, options: .htmlSafe) }
            out.append(UInt8(ascii: "}"))
            entries[index].entry.line = out
            if !packed.isEmpty {
                entries[index].entry.labels = entries[index].entry.labels.removing { packed.contains($0.name) }
            }
            if config.ingestTimestamp { entries[index].entry.timestamp = context.now }
        }
    }
}

/// `stage.decolorize`: removes ANSI escape sequences (colours, cursor moves, terminal titles) from the line, with
/// the pattern Loki's `decolorize` uses.
struct DecolorizeStage: ProcessStage {
    static let pattern = #"[\x{1B}\x{9B}][\[\]()#;?]*(?:(?:(?:[a-zA-Z\d]*(?:;[a-zA-Z\d]*)*)?\x{07})|(?:(?:\d{1,4}(?:;\d{0,4})*)?[\dA-PRZcf-ntqry=><~]))"#
    private let regex = try? RE2Regex(DecolorizeStage.pattern, dotMatchesNewline: false)

    init() {}

    mutating func process(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        guard let regex else { return }
        for index in entries.indices where !entries[index].removed {
            // Only lines holding an escape can change.
            guard entries[index].entry.line.contains(where: { $0 == 0x1B || $0 == 0x9B }) else { continue }
            let text = entries[index].lineText
            let matches = regex.allMatchRanges(text)
            guard !matches.isEmpty else { continue }
            var out = ""
            var last = text.startIndex
            for match in matches {
                guard let range = match.first ?? nil else { continue }
                out += text[last..<range.lowerBound]
                last = range.upperBound
            }
            out += text[last...]
            entries[index].entry.line = Array(out.utf8)
        }
    }
}
