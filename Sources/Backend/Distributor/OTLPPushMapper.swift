import GoCompat
import Wire

/// Turns an OTLP logs request into a push request as Loki's `otlpToLokiPushRequest` does
/// (`pkg/loghttp/push/otlp.go`), so that `/otlp/v1/logs` stores what Loki would.
///
/// - Resource attributes named by `otlp_config` (by default Loki's list: `service.name`, `k8s.pod.name`, …)
///   become index labels, names normalised as Prometheus does (`service.name` → `service_name`); map values
///   flatten into one label per leaf (`a.b` → `a_b`). Without `service.name`, `service_name` comes from the first
///   index label named in `discover_service_name`, else it is `unknown_service` (when that list is not empty).
/// - Every other resource attribute, scope attribute and log attribute is structured metadata (or dropped, as
///   `otlp_config` says), as are `scope_name`, `scope_version`, `scope_dropped_attributes_count`,
///   `observed_timestamp`, `severity_number`, `severity_text`, `dropped_attributes_count`, `flags`, `trace_id`
///   and `span_id` (hex). Values are pdata's `AsString()`: arrays and maps as JSON.
/// - The line is the body's `AsString()`; the timestamp is the record's time, else its observed time, else now.
///
/// Called by the HTTP handler once per request; pure.
enum OTLPPushMapper {
    static let severityNumber = "severity_number"
    static let severityText = "severity_text"
    static let serviceName = "service_name"
    static let unknownService = "unknown_service"

    static func pushRequest(
        _ logs: OTLPLogsData, config: OTLPConfig, discoverServiceName: [String], now: Int64
    ) -> PushRequest {
        var builder = Builder()
        for resourceLogs in logs.resourceLogs {
            guard resourceLogs.scopeLogs.contains(where: { !$0.logRecords.isEmpty }) else { continue }
            let attributes = resourceLogs.resource.attributes
            var streamLabels: [LabelPair] = []
            var resourceMetadata: [LabelPair] = []
            let discover = !discoverServiceName.isEmpty
            var hasServiceName = attributes.contains {
                $0.key == "service.name" && !GoJSON.asString($0.value).isEmpty
            }
            for attribute in attributes {
                let action = config.action(forResource: attribute.key)
                guard action != .drop else { continue }
                let pairs = flatten(attribute)
                guard action == .indexLabel else {
                    resourceMetadata += pairs
                    continue
                }
                for pair in pairs {
                    set(pair, in: &streamLabels)
                    if !hasServiceName && discover && discoverServiceName.contains(pair.name) {
                        set(LabelPair(name: serviceName, value: pair.value), in: &streamLabels)
                        hasServiceName = true
                    }
                }
            }
            if !hasServiceName && discover {
                set(LabelPair(name: serviceName, value: unknownService), in: &streamLabels)
            }
            let resourceStream = builder.stream(for: streamLabels)

            for scopeLogs in resourceLogs.scopeLogs where !scopeLogs.logRecords.isEmpty {
                let scopeMetadata = self.scopeMetadata(scopeLogs.scope, config: config)
                for record in scopeLogs.logRecords {
                    var logLabels: [LabelPair] = []
                    var metadata = recordMetadata(record, config: config, labels: &logLabels)
                    metadata.reserveCapacity(metadata.count + resourceMetadata.count + scopeMetadata.count)
                    metadata += resourceMetadata
                    metadata += scopeMetadata
                    var stream = resourceStream
                    if !logLabels.isEmpty {
                        var combined = streamLabels
                        for pair in logLabels { set(pair, in: &combined) }
                        stream = builder.stream(for: combined)
                    }
                    builder.add(line: GoJSON.asString(record.body), timestamp: timestamp(record, now: now),
                                metadata: metadata, to: stream)
                }
            }
        }
        return builder.request()
    }

    /// The record's fields and log attributes as Loki names them, in Loki's order; attributes `otlp_config`
    /// makes index labels (and `severity_text` with `severity_text_as_label`) go to `labels`.
    private static func recordMetadata(
        _ record: OTLPLogRecord, config: OTLPConfig, labels: inout [LabelPair]
    ) -> [LabelPair] {
        var metadata: [LabelPair] = []
        metadata.reserveCapacity(record.attributes.count + 8)
        for attribute in record.attributes {
            let action = config.action(forLog: attribute.key)
            switch action {
            case .drop: continue
            case .structuredMetadata: metadata += flatten(attribute)
            case .indexLabel: for pair in flatten(attribute) { set(pair, in: &labels) }
            }
        }
        if record.timeUnixNano != 0 && record.observedTimeUnixNano != 0 {
            metadata.append(LabelPair(name: "observed_timestamp", value: String(record.observedTimeUnixNano)))
        }
        if record.severityNumber != 0 {
            metadata.append(LabelPair(name: severityNumber, value: String(record.severityNumber)))
        }
        if !record.severityText.isEmpty {
            if config.severityTextAsLabel { set(LabelPair(name: severityText, value: record.severityText), in: &labels) }
            metadata.append(LabelPair(name: severityText, value: record.severityText))
        }
        if record.droppedAttributesCount != 0 {
            metadata.append(LabelPair(name: "dropped_attributes_count", value: String(record.droppedAttributesCount)))
        }
        if record.flags != 0 {
            metadata.append(LabelPair(name: "flags", value: String(record.flags)))
        }
        if !record.traceID.isEmpty {
            metadata.append(LabelPair(name: "trace_id", value: hex(record.traceID)))
        }
        if !record.spanID.isEmpty {
            metadata.append(LabelPair(name: "span_id", value: hex(record.spanID)))
        }
        return metadata
    }

    private static func scopeMetadata(_ scope: OTLPInstrumentationScope, config: OTLPConfig) -> [LabelPair] {
        var metadata: [LabelPair] = []
        for attribute in scope.attributes where config.action(forScope: attribute.key) != .drop {
            metadata += flatten(attribute)
        }
        if !scope.name.isEmpty { metadata.append(LabelPair(name: "scope_name", value: scope.name)) }
        if !scope.version.isEmpty { metadata.append(LabelPair(name: "scope_version", value: scope.version)) }
        if scope.droppedAttributesCount != 0 {
            metadata.append(LabelPair(name: "scope_dropped_attributes_count",
                                      value: String(scope.droppedAttributesCount)))
        }
        return metadata
    }

    /// Loki's `timestampFromLogRecord`.
    private static func timestamp(_ record: OTLPLogRecord, now: Int64) -> Int64 {
        if record.timeUnixNano != 0 { return Int64(clamping: record.timeUnixNano) }
        if record.observedTimeUnixNano != 0 { return Int64(clamping: record.observedTimeUnixNano) }
        return now
    }

    /// Loki's `attributeToLabels`: a map value becomes one pair per leaf, named `<key>_<inner key>` (each step
    /// normalised); any other value one pair with its `AsString()`.
    static func flatten(_ attribute: OTLPKeyValue, prefix: String = "") -> [LabelPair] {
        let name = normalizeLabel(prefix.isEmpty ? attribute.key : prefix + "_" + attribute.key)
        guard case .kvlist(let pairs) = attribute.value else {
            return [LabelPair(name: name, value: GoJSON.asString(attribute.value))]
        }
        var result: [LabelPair] = []
        for pair in pairs { result += flatten(pair, prefix: name) }
        return result
    }

    /// Prometheus' `otlptranslator` label normalisation: every character but ASCII letters, digits and `_` becomes
    /// `_`; a name starting with a digit gets `key_` in front, one starting with a single `_` gets `key`.
    static func normalizeLabel(_ name: String) -> String {
        guard let first = name.utf8.first else { return name }
        let isPlain = name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"): true
            default: false
            }
        }
        var sanitized = name
        if !isPlain {
            var scalars = String.UnicodeScalarView()
            for scalar in name.unicodeScalars {
                switch scalar {
                case "a"..."z", "A"..."Z", "0"..."9", "_": scalars.append(scalar)
                default: scalars.append("_")
                }
            }
            sanitized = String(scalars)
        }
        let start = isPlain ? first : (sanitized.utf8.first ?? first)
        if start >= UInt8(ascii: "0") && start <= UInt8(ascii: "9") { return "key_" + sanitized }
        if start == UInt8(ascii: "_") && !sanitized.hasPrefix("__") { return "key" + sanitized }
        return sanitized
    }

    /// Sets a label, replacing one of the same name (the last value wins, as in Loki's label map). An empty
    /// value is no label, as in Prometheus.
    private static func set(_ pair: LabelPair, in labels: inout [LabelPair]) {
        if let index = labels.firstIndex(where: { $0.name == pair.name }) {
            if pair.value.isEmpty { labels.remove(at: index) } else { labels[index].value = pair.value }
        } else if !pair.value.isEmpty {
            labels.append(pair)
        }
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Streams by label text, in first-seen order; the lines of the request share one buffer.
    private struct Builder {
        private var streams: [(labels: String, entries: [(timestamp: Int64, line: Range<Int>, metadata: [LabelPair])])] = []
        private var index: [String: Int] = [:]
        private var arena: [UInt8] = []

        mutating func stream(for labels: [LabelPair]) -> Int {
            let text = labels.isEmpty ? "{}" : LabelSet(labels).description
            if let found = index[text] { return found }
            streams.append((text, []))
            index[text] = streams.count - 1
            return streams.count - 1
        }

        mutating func add(line: String, timestamp: Int64, metadata: [LabelPair], to stream: Int) {
            let start = arena.count
            arena.append(contentsOf: line.utf8)
            streams[stream].entries.append((timestamp, start..<arena.count, metadata))
        }

        func request() -> PushRequest {
            let lines = arena
            return PushRequest(streams: streams.compactMap { stream in
                guard !stream.entries.isEmpty else { return nil }
                return PushStream(labels: stream.labels, entries: stream.entries.map {
                    PushEntry(timestamp: $0.timestamp, line: lines[$0.line], structuredMetadata: $0.metadata)
                })
            })
        }
    }
}
