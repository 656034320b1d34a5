@testable import Pipeline
import Wire

/// Fixtures for the Loki translation tests, kept in one namespace so they cannot clash with other suites' helpers.
enum LokiTest {
    /// A translator whose clock is fixed, so records without times convert reproducibly.
    static let now: Int64 = 1_700_000_000_123_456_789
    static let translator = LokiTranslator(now: { LokiTest.now })

    static func str(_ text: String) -> OTLPAnyValue { .string(text) }

    static func kv(_ key: String, _ value: OTLPAnyValue?) -> OTLPKeyValue { OTLPKeyValue(key: key, value: value) }

    /// The outcome of converting one record: its labels as Prometheus prints them, its line and time.
    struct Converted: Equatable, CustomStringConvertible {
        var labels: String
        var line: String
        var timestamp: Int64

        var description: String { "\(labels) \(line) @\(timestamp)" }
    }

    static func convert(_ record: OTLPLogRecord, resource: OTLPResource = OTLPResource(),
                        scope: OTLPInstrumentationScope = OTLPInstrumentationScope())
        -> Result<Converted, LokiTranslationError>
    {
        do {
            let entry = try translator.entry(for: record, resource: resource, scope: scope)
            return .success(Converted(labels: entry.labels.description,
                                      line: String(decoding: entry.line, as: UTF8.self), timestamp: entry.timestamp))
        } catch {
            return .failure(error)
        }
    }

    /// The line of a record, or the error's text in angle brackets.
    static func line(_ record: OTLPLogRecord, resource: OTLPResource = OTLPResource(),
                     scope: OTLPInstrumentationScope = OTLPInstrumentationScope()) -> String
    {
        switch convert(record, resource: resource, scope: scope) {
        case .success(let converted): converted.line
        case .failure(let error): "<\(error)>"
        }
    }

    /// The labels of a record, or the error's text in angle brackets.
    static func labels(_ record: OTLPLogRecord, resource: OTLPResource = OTLPResource(),
                       scope: OTLPInstrumentationScope = OTLPInstrumentationScope()) -> String
    {
        switch convert(record, resource: resource, scope: scope) {
        case .success(let converted): converted.labels
        case .failure(let error): "<\(error)>"
        }
    }

    /// Resources that ask for logfmt and raw lines.
    static let logfmtResource = OTLPResource(attributes: [kv(LokiTranslator.formatHint, str("logfmt"))])
    static let rawResource = OTLPResource(attributes: [kv(LokiTranslator.formatHint, str("raw"))])

    /// The translator's own test record (`exampleLog` in `encode_test.go`).
    static func exampleLog() -> (record: OTLPLogRecord, resource: OTLPResource, scope: OTLPInstrumentationScope) {
        let record = OTLPLogRecord(
            severityText: "error", body: str("Example log"), attributes: [kv("attr1", str("1")), kv("attr2", str("2"))],
            traceID: [1, 2, 3, 4] + [UInt8](repeating: 0, count: 12), spanID: [5, 6, 7, 8, 0, 0, 0, 0])
        let resource = OTLPResource(attributes: [kv("host.name", str("something"))])
        let scope = OTLPInstrumentationScope(name: "example-logger-name", version: "v1")
        return (record, resource, scope)
    }

    /// A trace id whose first byte is `first` (the records of `logs_to_loki_test.go`).
    static func traceID(_ first: UInt8) -> [UInt8] { [first] + [UInt8](repeating: 0, count: 15) }
}
