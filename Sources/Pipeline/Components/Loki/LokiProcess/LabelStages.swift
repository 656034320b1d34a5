import AlloyLanguage
import Wire

/// Reads a `values = { name = "source", ... }` map: string values, `null` counting as empty (Alloy's
/// `map[string]*string`). Sorted by name.
func readStringMap(_ reader: ArgumentReader, _ attribute: String, required: Bool = false)
    throws(Diagnostic) -> [(String, String)]
{
    guard let value = try reader.value(attribute) else {
        if required {
            throw reader.blockError("missing required attribute \(GoQuote.quote(attribute)) in \(reader.name)")
        }
        return []
    }
    guard case .object(let object) = value else {
        throw reader.error(attribute, "\(attribute): expected object of strings, got \(value.typeName)")
    }
    var pairs: [(String, String)] = []
    for (key, item) in object.pairs {
        switch item {
        case .string(let text): pairs.append((key, text))
        case .null: pairs.append((key, ""))
        default: throw reader.error(attribute, "\(attribute).\(key): expected string, got \(item.typeName)")
        }
    }
    return pairs.sorted { $0.0 < $1.0 }
}

/// Checks label names the way Prometheus' `model.LabelName.IsValid` does (Alloy's check).
func validateLabelNames(_ names: [String], _ reader: ArgumentReader, _ attribute: String) throws(Diagnostic) {
    for name in names where !PrometheusLabelName.isValid(name) {
        throw reader.error(
            attribute,
            "\(attribute): invalid label name \(GoQuote.quote(name)); a label name starts with a letter or _ and holds only letters, digits and _")
    }
}

/// `stage.labels`: sets labels from extracted values (`values = { label = "extracted name" }`, an empty name
/// meaning the label's own name), or from structured metadata with `source_type = "structured_metadata"`. A
/// missing value leaves the label as it is.
struct LabelsStage: ProcessStage {
    struct Config: Sendable, Equatable {
        var names: [String] = []
        var sources: [String] = []
        var fromStructuredMetadata = false

        init(names: [String], sources: [String]) {
            self.names = names
            self.sources = sources
        }

        init(_ reader: ArgumentReader) throws(Diagnostic) {
            let values = try readStringMap(reader, "values", required: true)
            names = values.map(\.0)
            sources = values.map { $0.1.isEmpty ? $0.0 : $0.1 }
            try validateLabelNames(names, reader, "values")
            switch try reader.string("source_type", default: "extracted") {
            case "extracted": fromStructuredMetadata = false
            case "structured_metadata": fromStructuredMetadata = true
            case let other:
                throw reader.error(
                    "source_type",
                    "source_type: invalid value \(GoQuote.quote(other)); expected \"extracted\" or \"structured_metadata\"")
            }
        }
    }

    let config: Config
    private var cache = LabelEditCache()
    private var changes: [LabelChange] = []

    init(_ config: Config) {
        self.config = config
    }

    mutating func process(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        for index in entries.indices where !entries[index].removed {
            apply(to: &entries[index])
        }
    }

    mutating func apply(to entry: inout ProcessEntry) {
        changes.removeAll(keepingCapacity: true)
        var any = false
        for source in config.sources {
            let value: String?
            if config.fromStructuredMetadata {
                value = entry.entry.structuredMetadata.first { $0.name == source }?.value
            } else {
                value = entry.extractedText(source)
            }
            if let value {
                changes.append(.set(value))
                any = true
            } else {
                changes.append(.keep)
            }
        }
        guard any else { return }
        let names = config.names
        let changes = self.changes
        entry.entry.labels = cache.output(for: entry.entry.labels, key: changes) {
            $0.applying(names: names, changes: changes)
        }
    }
}

/// `stage.static_labels`: sets fixed labels (an empty value is ignored, as in Alloy).
struct StaticLabelsStage: ProcessStage {
    struct Config: Sendable, Equatable {
        var names: [String] = []
        var values: [String] = []

        init(_ reader: ArgumentReader) throws(Diagnostic) {
            let pairs = try readStringMap(reader, "values", required: true).filter { !$0.1.isEmpty }
            names = pairs.map(\.0)
            values = pairs.map(\.1)
            try validateLabelNames(names, reader, "values")
        }
    }

    let config: Config
    private let changes: [LabelChange]
    private var cache = LabelEditCache()

    init(_ config: Config) {
        self.config = config
        changes = config.values.map { .set($0) }
    }

    mutating func process(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        guard !config.names.isEmpty else { return }
        let names = config.names
        let changes = self.changes
        for index in entries.indices where !entries[index].removed {
            entries[index].entry.labels = cache.output(for: entries[index].entry.labels, key: []) {
                $0.applying(names: names, changes: changes)
            }
        }
    }
}

/// `stage.label_drop` (`keep == false`) and `stage.label_keep` (`keep == true`): removes the listed labels, or
/// every label but the listed ones.
struct LabelFilterStage: ProcessStage {
    struct Config: Sendable, Equatable {
        var names: Set<String> = []
        var keep: Bool

        init(_ reader: ArgumentReader, keep: Bool) throws(Diagnostic) {
            self.keep = keep
            names = Set(try reader.stringList("values"))
        }
    }

    let config: Config
    private var cache = LabelEditCache()

    init(_ config: Config) {
        self.config = config
    }

    mutating func process(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        let config = self.config
        for index in entries.indices where !entries[index].removed {
            entries[index].entry.labels = cache.output(for: entries[index].entry.labels, key: []) { labels in
                labels.removing { config.names.contains($0.name) != config.keep }
            }
        }
    }
}

/// `stage.structured_metadata`: copies extracted values to structured metadata (`values = { name = "source" }`),
/// and moves labels named as a source to structured metadata; with `regex`, also every extracted value and
/// every remaining label whose name matches. A pair already present is not added twice.
struct StructuredMetadataStage: ProcessStage {
    struct Config: Sendable, Equatable {
        var names: [String] = []
        var sources: [String] = []
        var regex: String = ""

        init(_ reader: ArgumentReader) throws(Diagnostic) {
            let values = try readStringMap(reader, "values")
            names = values.map(\.0)
            sources = values.map { $0.1.isEmpty ? $0.0 : $0.1 }
            try validateLabelNames(names, reader, "values")
            regex = try reader.string("regex", default: "")
            if !regex.isEmpty { _ = try compileRegex(reader, "regex", regex) }
        }
    }

    let config: Config
    private let regex: RE2Regex?
    private var cache = LabelEditCache()

    init(_ config: Config) {
        self.config = config
        regex = config.regex.isEmpty ? nil : try? RE2Regex(config.regex, dotMatchesNewline: false)
    }

    mutating func process(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        for index in entries.indices where !entries[index].removed {
            apply(to: &entries[index])
        }
    }

    private mutating func apply(to entry: inout ProcessEntry) {
        var metadata = entry.entry.structuredMetadata
        func add(_ name: String, _ value: String) {
            let pair = LabelPair(name: name, value: value)
            if !metadata.contains(pair) { metadata.append(pair) }
        }
        for (name, source) in zip(config.names, config.sources) {
            if let value = entry.extractedText(source) { add(name, value) }
        }
        if let regex {
            for (name, value) in entry.allExtracted().sorted(by: { $0.key < $1.key }) where regex.firstMatch(name) {
                if let text = value.text { add(name, text) }
            }
        }
        let labels = entry.entry.labels
        var moved: Set<String> = []
        for (name, source) in zip(config.names, config.sources) {
            if let value = labels[source] {
                add(name, value)
                moved.insert(source)
            }
        }
        if let regex {
            for pair in labels.pairs where !moved.contains(pair.name) && regex.firstMatch(pair.name) {
                add(pair.name, pair.value)
                moved.insert(pair.name)
            }
        }
        if !moved.isEmpty {
            entry.entry.labels = labels.removing { moved.contains($0.name) }
        }
        entry.entry.structuredMetadata = metadata
    }
}

/// `stage.output`: the line becomes the extracted value `source` (unchanged when there is none).
struct OutputStage: ProcessStage {
    struct Config: Sendable, Equatable {
        var source: String

        init(source: String) {
            self.source = source
        }

        init(_ reader: ArgumentReader) throws(Diagnostic) {
            source = try reader.requiredString("source")
            guard !source.isEmpty else { throw reader.error("source", "source: must not be empty") }
        }
    }

    let config: Config

    mutating func process(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        for index in entries.indices where !entries[index].removed {
            if let text = entries[index].extractedText(config.source) {
                entries[index].entry.line = Array(text.utf8)
            }
        }
    }
}

/// Compiles an RE2 expression of a stage's arguments, with an error at the attribute.
func compileRegex(_ reader: ArgumentReader, _ attribute: String, _ expression: String) throws(Diagnostic) -> RE2Regex {
    do {
        return try RE2Regex(expression, dotMatchesNewline: false)
    } catch {
        throw reader.error(attribute, "\(attribute): invalid regular expression \(GoQuote.quote(expression)): \(error)")
    }
}
