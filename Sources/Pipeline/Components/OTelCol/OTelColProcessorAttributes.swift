import AlloyLanguage
import GoCompat
import Logging
import Prometheus
import Synchronization
import Wire

/// `otelcol.processor.attributes`: changes the attributes of OTLP log records with a list of `action` blocks
/// (insert, update, upsert, delete, hash, extract, convert), run in order on each record that the `include` /
/// `exclude` blocks select, then hands the logs on to `output`.
///
/// `hash` is the collector's: SHA-256 of the value (a string's bytes; an int or double as 8 little-endian bytes;
/// a bool as one byte 1 or 0), as lowercase hex. Settings that only apply to spans or metrics, and `from_context`
/// keys of `auth.`, are refused when the configuration loads.
public final class OTelColProcessorAttributes: Component, OTLPLogsConsumer {
    public static let name = "otelcol.processor.attributes"

    public struct Action: Sendable, Equatable {
        public enum Kind: String, Sendable, Equatable, CaseIterable {
            case insert, update, upsert, delete, hash, extract, convert
        }

        public enum ConvertedType: String, Sendable, Equatable, CaseIterable {
            case int, double, string
        }

        /// Where insert, update and upsert take the value from.
        public enum Source: Sendable, Equatable {
            case value(OTLPAnyValue)
            case attribute(String)
            /// A key of the request's client metadata (`metadata.` prefix optional); several values join with `;`.
            case context(String)
        }

        public var kind: Kind
        /// The attribute acted on; empty when `pattern` picks the keys (delete, hash).
        public var key: String
        public var source: Source?
        /// delete and hash: the keys to act on; extract: the regex whose named groups become attributes.
        var pattern: OTTLPattern?
        public var convertedType: ConvertedType?
    }

    /// One `attributes`, `resources` entry of a match block: the key, and the value it must have (none: present).
    public struct AttributeMatch: Sendable, Equatable {
        public var key: String
        public var value: OTLPAnyValue?
        var pattern: OTTLPattern?
    }

    public struct LibraryMatch: Sendable, Equatable {
        public var name: String
        public var version: String?
        var namePattern: OTTLPattern?
        var versionPattern: OTTLPattern?
    }

    /// An `include` or `exclude` block: every property given must match (each list: any of its entries).
    public struct MatchProperties: Sendable, Equatable {
        public var regexp: Bool
        public var attributes: [AttributeMatch] = []
        public var resources: [AttributeMatch] = []
        public var libraries: [LibraryMatch] = []
        public var logBodies: [String] = []
        var logBodyPatterns: [OTTLPattern] = []
        public var severityTexts: [String] = []
        var severityTextPatterns: [OTTLPattern] = []
        /// `log_severity`: the lowest severity number, and whether records without one match.
        public var minimumSeverity: (number: Int32, matchUndefined: Bool)?

        public static func == (lhs: MatchProperties, rhs: MatchProperties) -> Bool {
            lhs.regexp == rhs.regexp && lhs.attributes == rhs.attributes && lhs.resources == rhs.resources
                && lhs.libraries == rhs.libraries && lhs.logBodies == rhs.logBodies
                && lhs.severityTexts == rhs.severityTexts
                && lhs.minimumSeverity?.number == rhs.minimumSeverity?.number
                && lhs.minimumSeverity?.matchUndefined == rhs.minimumSeverity?.matchUndefined
        }
    }

    public struct Arguments: ComponentArguments {
        public var actions: [Action] = []
        public var include: MatchProperties?
        public var exclude: MatchProperties?
        public var logs = OTLPLogsConsumers()

        public init(_ reader: ArgumentReader) throws(Diagnostic) {
            for block in reader.blocks("action") { actions.append(try Self.action(block)) }
            include = try reader.block("include").map { reader throws(Diagnostic) in try Self.match(reader) }
            exclude = try reader.block("exclude").map { reader throws(Diagnostic) in try Self.match(reader) }
            if let debug = try reader.block("debug_metrics") {
                // Accepted for compatibility; these metrics have no high-cardinality attributes to drop.
                _ = try debug.bool("disable_high_cardinality_metrics", default: true)
                _ = try debug.string("level")
            }
            logs = try reader.otelcolOutput()
        }

        private static func action(_ block: ArgumentReader) throws(Diagnostic) -> Action {
            let kindText = try block.requiredString("action")
            guard let kind = Action.Kind(rawValue: kindText.lowercased()) else {
                throw block.error("action", "action: \(GoQuote.quote(kindText)) is not one of "
                    + Action.Kind.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let key = try block.string("key", default: "")
            var sources: [(String, Action.Source)] = []
            if let value = try block.value("value") {
                sources.append(("value", .value(try Self.otlpValue(value, block, "value"))))
            }
            if let attribute = try block.string("from_attribute") { sources.append(("from_attribute", .attribute(attribute))) }
            if let contextKey = try block.string("from_context") {
                if contextKey.hasPrefix("auth.") {
                    throw block.error("from_context", "from_context: \(GoQuote.quote(contextKey)) is not supported: "
                        + "Estuary's receivers keep no authentication data; use a metadata key (receiver include_metadata)")
                }
                let name = contextKey.hasPrefix("metadata.") ? String(contextKey.dropFirst("metadata.".count)) : contextKey
                sources.append(("from_context", .context(name)))
            }
            let patternText = try block.string("pattern")
            let pattern: OTTLPattern?
            if let patternText {
                do throws(RE2Error) {
                    pattern = try OTTLPattern(patternText)
                } catch {
                    throw block.error("pattern", "pattern: invalid regular expression \(GoQuote.quote(patternText)): \(error)")
                }
            } else {
                pattern = nil
            }
            var convertedType: Action.ConvertedType?
            if let typeText = try block.string("converted_type") {
                guard let type = Action.ConvertedType(rawValue: typeText) else {
                    throw block.error("converted_type", "converted_type: \(GoQuote.quote(typeText)) is not one of int, double, string")
                }
                convertedType = type
            }

            func refuse(_ names: [String]) throws(Diagnostic) {
                for name in names where block.has(name) {
                    throw block.error(name, "\(name) cannot be used with action \(GoQuote.quote(kind.rawValue))")
                }
            }
            func requireKey() throws(Diagnostic) {
                guard !key.isEmpty else {
                    throw block.blockError("action \(GoQuote.quote(kind.rawValue)) needs a non-empty key")
                }
            }
            switch kind {
            case .insert, .update, .upsert:
                try requireKey()
                try refuse(["pattern", "converted_type"])
                guard sources.count == 1 else {
                    throw block.blockError("action \(GoQuote.quote(kind.rawValue)) on \(GoQuote.quote(key)) needs exactly one of "
                        + "value, from_attribute, from_context (got \(sources.isEmpty ? "none" : sources.map(\.0).joined(separator: ", ")))")
                }
            case .delete, .hash:
                try refuse(["value", "from_attribute", "from_context", "converted_type"])
                guard !key.isEmpty || pattern != nil else {
                    throw block.blockError("action \(GoQuote.quote(kind.rawValue)) needs a key or a pattern")
                }
            case .extract:
                try requireKey()
                try refuse(["value", "from_attribute", "from_context", "converted_type"])
                guard let pattern else {
                    throw block.blockError("action \"extract\" on \(GoQuote.quote(key)) needs a pattern with named groups")
                }
                let names = pattern.regex.regex.captureNames.dropFirst()
                guard !names.isEmpty, names.allSatisfy({ $0?.isEmpty == false }) else {
                    throw block.error("pattern", "pattern: every group of an extract pattern must be named, as in (?P<name>...); "
                        + "\(GoQuote.quote(pattern.source)) has \(names.isEmpty ? "none" : "an unnamed one")")
                }
            case .convert:
                try requireKey()
                try refuse(["value", "from_attribute", "from_context", "pattern"])
                guard convertedType != nil else {
                    throw block.blockError("action \"convert\" on \(GoQuote.quote(key)) needs converted_type (int, double or string)")
                }
            }
            return Action(kind: kind, key: key, source: sources.first?.1, pattern: pattern, convertedType: convertedType)
        }

        private static func match(_ block: ArgumentReader) throws(Diagnostic) -> MatchProperties {
            for name in ["services", "span_names", "span_kinds", "metric_names"] where block.has(name) {
                throw block.error(name, "\(name) only selects spans or metrics; only logs flow through Estuary")
            }
            if let regexp = try block.block("regexp") {
                // Cache settings of the collector's regex matcher; Estuary compiles each pattern once and needs none.
                _ = try regexp.bool("cache_enabled", default: false)
                _ = try regexp.int("cache_max_num_entries", default: 0)
            }
            let typeText = try block.requiredString("match_type")
            guard typeText == "strict" || typeText == "regexp" else {
                throw block.error("match_type", "match_type: \(GoQuote.quote(typeText)) is not one of \"strict\", \"regexp\"")
            }
            let regexp = typeText == "regexp"
            var properties = MatchProperties(regexp: regexp)
            func compile(_ text: String, _ name: String) throws(Diagnostic) -> OTTLPattern? {
                guard regexp else { return nil }
                do throws(RE2Error) {
                    return try OTTLPattern(text)
                } catch {
                    throw block.error(name, "\(name): invalid regular expression \(GoQuote.quote(text)): \(error)")
                }
            }
            for (name, resources) in [("attribute", false), ("resource", true)] {
                for entry in block.blocks(name) {
                    let key = try entry.requiredString("key")
                    var match = AttributeMatch(key: key)
                    if let value = try entry.value("value") {
                        let converted = try Self.otlpValue(value, entry, "value")
                        match.value = converted
                        if regexp {
                            guard case .string(let text) = converted else {
                                throw entry.error("value", "value: with match_type \"regexp\" the value is a pattern, a string")
                            }
                            match.pattern = try compile(text, name)
                        }
                    }
                    if resources { properties.resources.append(match) } else { properties.attributes.append(match) }
                }
            }
            for entry in block.blocks("library") {
                var library = LibraryMatch(name: try entry.requiredString("name"), version: try entry.string("version"))
                library.namePattern = try compile(library.name, "library")
                if let version = library.version { library.versionPattern = try compile(version, "library") }
                properties.libraries.append(library)
            }
            properties.logBodies = try block.stringList("log_bodies")
            properties.severityTexts = try block.stringList("log_severity_texts")
            for text in properties.logBodies { if let pattern = try compile(text, "log_bodies") { properties.logBodyPatterns.append(pattern) } }
            for text in properties.severityTexts {
                if let pattern = try compile(text, "log_severity_texts") { properties.severityTextPatterns.append(pattern) }
            }
            if let severity = try block.block("log_severity") {
                let minText = try severity.requiredString("min")
                guard let number = Self.severityNumber(minText) else {
                    throw severity.error("min", "min: unrecognized severity level \(GoQuote.quote(minText)); expected TRACE, DEBUG, INFO, WARN, ERROR or FATAL, optionally followed by 2, 3 or 4")
                }
                properties.minimumSeverity = (number, try severity.bool("match_undefined", default: false))
            }
            if properties.attributes.isEmpty && properties.resources.isEmpty && properties.libraries.isEmpty
                && properties.logBodies.isEmpty && properties.severityTexts.isEmpty && properties.minimumSeverity == nil
            {
                throw block.blockError("\(block.name) selects nothing: give at least one of log_bodies, log_severity_texts, "
                    + "log_severity, attribute, resource, library")
            }
            return properties
        }

        /// `TRACE` ... `FATAL4`, as Alloy's `log_severity.min` takes them (upper case).
        static func severityNumber(_ text: String) -> Int32? {
            guard text == text.uppercased() else { return nil }
            return OTLPSeverity.number(named: ("SEVERITY_NUMBER_" + text).utf8).flatMap { $0 == 0 ? nil : $0 }
        }

        static func otlpValue(_ value: Value, _ block: ArgumentReader, _ name: String) throws(Diagnostic) -> OTLPAnyValue {
            switch value {
            case .string(let text): return .string(text)
            case .bool(let flag): return .bool(flag)
            case .number(let number):
                switch number {
                case .int(let whole): return .int(whole)
                case .uint: throw block.error(name, "\(name): \(number) does not fit in a 64-bit integer attribute")
                case .float(let real): return .double(real)
                }
            case .array(let items):
                var values: [OTLPAnyValue] = []
                for item in items { values.append(try otlpValue(item, block, name)) }
                return .array(values)
            case .object(let object):
                var pairs: [OTLPKeyValue] = []
                for (key, item) in object.pairs { pairs.append(OTLPKeyValue(key: key, value: try otlpValue(item, block, name))) }
                return .kvlist(pairs)
            default:
                throw block.error(name, "\(name): a \(value.typeName) cannot be an attribute value")
            }
        }
    }

    private let context: ComponentContext
    private let arguments: Mutex<Arguments>
    private let incoming: Counter
    private let outgoing: Counter

    public var exports: ValueObject {
        ValueObject([("input", .capsule(OTLPConsumerCapsule.self, self))])
    }

    public init(context: ComponentContext, arguments: Arguments) throws {
        self.context = context
        self.arguments = Mutex(arguments)
        (incoming, outgoing) = OTelColProcessorTransform.itemCounters(context)
        try update(arguments)
    }

    public func update(_ arguments: Arguments) throws {
        self.arguments.withLock { $0 = arguments }
    }

    public func consume(_ logs: OTLPLogsData) async throws {
        let arguments = arguments.withLock { $0 }
        incoming.increment(by: Int64(logs.recordCount))
        var data = logs
        Self.apply(arguments, to: &data, metadata: ClientMetadata.current)
        outgoing.increment(by: Int64(data.recordCount))
        try await arguments.logs.send(data)
    }

    static func apply(_ arguments: Arguments, to data: inout OTLPLogsData, metadata: ClientMetadata) {
        guard !arguments.actions.isEmpty else { return }
        for r in data.resourceLogs.indices {
            let resource = data.resourceLogs[r].resource
            for s in data.resourceLogs[r].scopeLogs.indices {
                let scope = data.resourceLogs[r].scopeLogs[s].scope
                for l in data.resourceLogs[r].scopeLogs[s].logRecords.indices {
                    var record = data.resourceLogs[r].scopeLogs[s].logRecords[l]
                    if let include = arguments.include, !include.matches(record, resource, scope) { continue }
                    if let exclude = arguments.exclude, exclude.matches(record, resource, scope) { continue }
                    data.resourceLogs[r].scopeLogs[s].logRecords[l] = OTLPLogRecord()
                    for action in arguments.actions { action.apply(to: &record.attributes, metadata: metadata) }
                    data.resourceLogs[r].scopeLogs[s].logRecords[l] = record
                }
            }
        }
    }
}
