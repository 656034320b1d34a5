import AlloyLanguage
import Wire

/// `stage.regex`: matches an RE2 expression against the line (or the extracted value `source`) and puts every
/// named group into the extracted map (an unmatched group as an empty string, as Go's `FindStringSubmatch`
/// gives); with `labels_from_groups`, also sets each named group as a label.
struct RegexStage: ProcessStage {
    struct Config: Sendable, Equatable {
        var expression: String
        var source: String?
        var labelsFromGroups = false

        init(expression: String, source: String? = nil) {
            self.expression = expression
            self.source = source
        }

        init(_ reader: ArgumentReader) throws(Diagnostic) {
            expression = try reader.requiredString("expression")
            guard !expression.isEmpty else { throw reader.error("expression", "expression: must not be empty") }
            source = try reader.string("source")
            if source == "" { throw reader.error("source", "source: must not be empty when set") }
            labelsFromGroups = try reader.bool("labels_from_groups", default: labelsFromGroups)
            _ = try compileRegex(reader, "expression", expression)
        }
    }

    let config: Config
    private let regex: RE2Regex?
    /// The named groups: (group number, name), and the names sorted for label edits.
    private let groups: [(Int, String)]
    private let labelNames: [String]
    private var cache = LabelEditCache()

    init(_ config: Config) {
        self.config = config
        regex = try? RE2Regex(config.expression, dotMatchesNewline: false)
        var groups: [(Int, String)] = []
        var seen: Set<String> = []
        for (number, name) in (regex?.captureNames ?? []).enumerated() {
            guard let name, !name.isEmpty else { continue }
            groups.append((number, name))
            seen.insert(name)
        }
        self.groups = groups
        labelNames = seen.filter(PrometheusLabelName.isValid).sorted()
    }

    mutating func process(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        guard let regex else { return }
        for index in entries.indices where !entries[index].removed {
            let input: String
            if let source = config.source {
                guard let text = entries[index].extractedText(source) else { continue }
                input = text
            } else {
                input = entries[index].lineText
            }
            guard let match = regex.firstMatchGroups(input) else { continue }
            var values: [String: String] = [:]
            for (number, name) in groups {
                let value = number < match.count ? match[number].map(String.init) ?? "" : ""
                entries[index].setExtracted(name, .string(value))
                values[name] = value
            }
            if config.labelsFromGroups {
                let changes = labelNames.map { LabelChange.set(values[$0] ?? "") }
                let names = labelNames
                entries[index].entry.labels = cache.output(for: entries[index].entry.labels, key: changes) {
                    $0.applying(names: names, changes: changes)
                }
            }
        }
    }
}
