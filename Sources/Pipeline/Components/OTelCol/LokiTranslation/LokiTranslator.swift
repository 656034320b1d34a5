#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import GoCompat
import Wire

/// Converts OTLP logs into Loki entries exactly as Alloy's `otelcol.exporter.loki` does, which calls the
/// OpenTelemetry Collector's `pkg/translator/loki` `LogToLokiEntry` with every default label enabled.
///
/// For each record:
/// - **Labels**: `exporter="OTLP"`; `job` from `service.namespace/service.name` (or `service.name` alone) and
///   `instance` from `service.instance.id` of the resource; `level` from the severity number (`INFO`, `WARN2`, …)
///   unless a `level` attribute is already set, in which case that one; and every attribute named by the hints:
///   `loki.resource.labels` on the resource or the record names resource attributes, `loki.attribute.labels` on the
///   record names record attributes. A hint is a comma-separated string or a list; `a.b` also finds `b` inside a
///   map attribute `a`. Names become Prometheus names (`service.name` → `service_name`).
/// - **Attributes** promoted to labels, attributes named like any label, and the hints themselves
///   (`loki.format`, `loki.tenant` too) are removed before the line is written.
/// - **Line**, by the `loki.format` hint (resource first, then record): `json` (the default)
///   `{"body":…,"traceid":…,"spanid":…,"severity":…,"flags":…,"attributes":{…},"resources":{…},
///   "instrumentation_scope":{"name":…,"version":…,"attributes":{…}}}` with empty fields left out, keys sorted
///   and Go's escaping; `logfmt`, the body read as logfmt (else `msg=`), then `traceID`, `spanID`, `severity`,
///   `flags`, `attribute_<k>`, `resource_<k>`, `instrumentation_scope_*`; `raw`, the body's text alone.
/// - **Timestamp**: the record's time, else its observed time, else now.
///
/// `loki.tenant` is not applied: Alloy's exporter ignores it (``tenant(record:resource:)`` reads it for callers that
/// want it). A record that cannot be written (unknown format, NaN in JSON, an empty logfmt key) is counted as a
/// failure, never a crash. The translator is pure apart from the clock and safe to share between tasks.
public struct LokiTranslator: Sendable {
    public static let attributeLabelsHint = "loki.attribute.labels"
    public static let resourceLabelsHint = "loki.resource.labels"
    public static let tenantHint = "loki.tenant"
    public static let formatHint = "loki.format"

    /// The line formats `loki.format` selects.
    public enum Format: String, Sendable, CaseIterable {
        case json, logfmt, raw
    }

    /// Nanoseconds since the Unix epoch, for records with neither time nor observed time.
    public var now: @Sendable () -> Int64

    /// Whether records without hints take the shortcut (tests turn it off to check it against the general path).
    var plainRecordShortcut = true

    public init(now: @escaping @Sendable () -> Int64 = LokiTranslator.wallClock) {
        self.now = now
    }

    /// The system's wall clock in nanoseconds since the Unix epoch.
    @Sendable public static func wallClock() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    /// The entries of every record in order, and the records that could not be converted.
    public func translate(_ logs: OTLPLogsData) -> LokiTranslation {
        var result = LokiTranslation()
        result.entries.reserveCapacity(logs.recordCount)
        var labelCache = LabelSetCache()
        for (index, resourceLogs) in logs.resourceLogs.enumerated() {
            guard resourceLogs.scopeLogs.contains(where: { !$0.logRecords.isEmpty }) else { continue }
            let resource = ResourcePart(resourceLogs.resource, id: index)
            for scopeLogs in resourceLogs.scopeLogs where !scopeLogs.logRecords.isEmpty {
                let scope = ScopePart(scopeLogs.scope)
                // Records are read in place: copying each out of the array would retain and release every
                // string and array it holds.
                scopeLogs.logRecords.withUnsafeBufferPointer { records in
                    for index in records.indices {
                        do throws(LokiTranslationError) {
                            result.entries.append(
                                try entry(for: records[index], resource: resource, scope: scope, labels: &labelCache))
                        } catch {
                            result.failedCount += 1
                            if result.firstFailure == nil { result.firstFailure = error }
                        }
                    }
                }
            }
        }
        return result
    }

    /// One record as a Loki entry (`LogToLokiEntry`).
    public func entry(for record: OTLPLogRecord, resource: OTLPResource, scope: OTLPInstrumentationScope)
        throws(LokiTranslationError) -> LogEntry
    {
        var labelCache = LabelSetCache()
        return try entry(for: record, resource: ResourcePart(resource), scope: ScopePart(scope), labels: &labelCache)
    }

    private func entry(for record: OTLPLogRecord, resource: ResourcePart, scope: ScopePart,
                       labels labelCache: inout LabelSetCache) throws(LokiTranslationError) -> LogEntry
    {
        var attributes = record.attributes
        if plainRecordShortcut, let plain = Self.plainLevel(attributes, labels: resource.labels) {
            // The common record, with no hints of its own and no attribute named like a resource label: the
            // general path below would add the `level` hint and attribute only to take them out again, and its
            // label set is one of the few its resource's records share (one per level).
            var level: String?
            if record.severityNumber != 0 {
                level = plain.index.map { LokiAttributes.asString(attributes[$0].value) }
                    ?? Self.levelName(record.severityNumber)
                if plain.index != nil { attributes.removeAll { GoString.equal($0.key, "level") } }
            }
            let labelSet = labelCache.labelSet(for: resource.labels, level: level)
            let resourceJSON = level == nil ? resource.remainingJSON : resource.remainingJSONWithoutLevel
            let line = try Self.line(
                record, format: resource.format ?? "json", attributes: attributes, scope: scope,
                resourceAttributes: level == nil ? resource.remaining : resource.remainingWithoutLevel,
                resourceJSON: resourceJSON)
            return LogEntry(timestamp: timestamp(of: record), line: line, labels: labelSet)
        }
        var labels = resource.labels
        if record.severityNumber != 0 {
            Self.addLevelAttributeAndHint(&attributes, severityNumber: record.severityNumber)
        }
        let formatName = resource.format ?? LokiAttributes.get(attributes, Self.formatHint).map(LokiAttributes.asString)
            ?? "json"
        // Labels: the resource's, then those the record's hints name (later ones win).
        if let hint = LokiAttributes.get(attributes, Self.resourceLabelsHint) {
            labels.promote(hint, from: resource.attributes)
        }
        if let hint = LokiAttributes.get(attributes, Self.attributeLabelsHint) {
            labels.promote(hint, from: attributes)
        }
        labels.removePromoted(from: &attributes)

        // The resource's attributes were cut down once; cut again only when this record added a label named like
        // one of them.
        var resourceAttributes = resource.remaining
        var resourceJSON = resource.remainingJSON
        if labels.hasAdded && resourceAttributes.contains(where: { labels.addedNameMatches($0.key) }) {
            resourceAttributes.removeAll { labels.addedNameMatches($0.key) }
            resourceJSON = ResourcePart.json(resourceAttributes)
        }

        let line = try Self.line(
            record, format: formatName, attributes: attributes, scope: scope, resourceAttributes: resourceAttributes,
            resourceJSON: resourceJSON)
        return LogEntry(timestamp: timestamp(of: record), line: line, labels: labelCache.labelSet(for: labels))
    }

    /// The record's line in the format `loki.format` chose.
    private static func line(
        _ record: OTLPLogRecord, format: String, attributes: [OTLPKeyValue], scope: ScopePart,
        resourceAttributes: [OTLPKeyValue], resourceJSON: Result<[UInt8], GoJSON.UnsupportedValue>?
    ) throws(LokiTranslationError) -> [UInt8] {
        switch format {
        case "json":
            try jsonLine(record, attributes: attributes, resources: resourceJSON, scope: scope)
        case "logfmt":
            try logfmtLine(record, attributes: attributes, resourceAttributes: resourceAttributes, scope: scope.scope)
        case "raw":
            Array(LokiAttributes.asString(record.body).utf8)
        default:
            throw .invalidFormat(format)
        }
    }

    /// The entry's time: the record's, else when it was observed, else now.
    ///
    /// A time of 2^63 ns or more (past the year 2262; OTLP sends `fixed64`) is treated as unset, like a zero time.
    /// Alloy's `time.Unix(0, int64(ts))` turns it negative and Loki then refuses the entry as too old, so the
    /// record is lost; falling back to the observed time (or now) keeps the user's record with the best time known.
    func timestamp(of record: OTLPLogRecord) -> Int64 {
        UnixNanos.fromOTLP(record.timeUnixNano) ?? UnixNanos.fromOTLP(record.observedTimeUnixNano) ?? now()
    }

    /// The tenant the `loki.tenant` hint names (`GetTenantFromTenantHint`): the hint is read from the resource,
    /// else the record, and names an attribute looked up in the resource, then the record; "" when absent.
    public static func tenant(record: OTLPLogRecord, resource: OTLPResource) -> String {
        guard let hint = LokiAttributes.get(resource.attributes, tenantHint)
            ?? LokiAttributes.get(record.attributes, tenantHint)
        else { return "" }
        guard case .some(.string(let name)) = hint else { return "" }
        if let value = LokiAttributes.get(resource.attributes, name) ?? LokiAttributes.get(record.attributes, name),
           case .some(.string(let tenant)) = value
        {
            return tenant
        }
        return ""
    }

    // MARK: Hints

    /// `level` names by severity number (pdata's `severityNumberToLevel`); numbers outside 1...24 give "".
    static let levelNames: [String] = {
        var names = ["UNSPECIFIED"]
        for level in ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"] {
            names.append(level)
            for step in 2...4 { names.append("\(level)\(step)") }
        }
        return names
    }()

    /// For a record without hint attributes and without attributes named like the resource's labels: where its
    /// first `level` attribute is (nil when it has none). Nil for any other record.
    struct PlainRecord {
        /// Where the first `level` attribute is.
        var index: Int?
    }

    static func plainLevel(_ attributes: [OTLPKeyValue], labels: LabelDraft) -> PlainRecord? {
        var levelIndex: Int?
        for index in attributes.indices {
            let key = attributes[index].key
            if LabelDraft.hints.contains(key) || labels.baseNames.contains(key) { return nil }
            if levelIndex == nil && GoString.equal(key, "level") { levelIndex = index }
        }
        return PlainRecord(index: levelIndex)
    }

    static func levelName(_ severityNumber: Int32) -> String {
        severityNumber > 0 && Int(severityNumber) < levelNames.count ? levelNames[Int(severityNumber)] : ""
    }

    /// `addLogLevelAttributeAndHint`: adds `level` to the `loki.attribute.labels` hint and, when the record has no
    /// `level` attribute, sets one from the severity number.
    static func addLevelAttributeAndHint(_ attributes: inout [OTLPKeyValue], severityNumber: Int32) {
        if let index = LokiAttributes.index(attributes, attributeLabelsHint) {
            switch attributes[index].value {
            case .array(var items):
                items.append(.string("level"))
                attributes[index].value = .array(items)
            case .string(let names):
                attributes[index].value = .string(names + ",level")
            default:
                break
            }
        } else {
            attributes.append(OTLPKeyValue(key: attributeLabelsHint, value: .string("level")))
        }
        if LokiAttributes.index(attributes, "level") == nil {
            attributes.append(OTLPKeyValue(key: "level", value: .string(levelName(severityNumber))))
        }
    }

    /// `getFormatFromFormatHint`: the resource's `loki.format`, else the record's, else `json`.
    static func formatName(_ attributes: [OTLPKeyValue], _ resourceAttributes: [OTLPKeyValue]) -> String {
        if let hint = LokiAttributes.get(resourceAttributes, formatHint) ?? LokiAttributes.get(attributes, formatHint) {
            return LokiAttributes.asString(hint)
        }
        return "json"
    }
}
