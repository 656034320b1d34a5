@testable import Pipeline
import Wire

/// Fixtures for the OTTL and processor tests.
enum OTTLTest {
    static func kv(_ key: String, _ value: OTLPAnyValue?) -> OTLPKeyValue { OTLPKeyValue(key: key, value: value) }

    static func target(
        attributes: [OTLPKeyValue] = [], body: OTLPAnyValue? = nil, severityNumber: Int32 = 0, severityText: String = "",
        resource: [OTLPKeyValue] = [], scopeName: String = ""
    ) -> OTTLTarget {
        OTTLTarget(
            resource: OTLPResource(attributes: resource), scope: OTLPInstrumentationScope(name: scopeName),
            record: OTLPLogRecord(severityNumber: severityNumber, severityText: severityText, body: body, attributes: attributes))
    }

    /// Runs `statements` (log context) on `target` and returns it; a statement that fails throws.
    static func run(_ statements: [String], on target: OTTLTarget, context: OTTLContext = .log) throws -> OTTLTarget {
        var target = target
        for text in statements { try OTTLStatement(text, context: context).execute(&target) }
        return target
    }

    /// The parse error of `text`, or nil when it parses.
    static func parseError(_ text: String, context: OTTLContext = .log) -> OTTLSyntaxError? {
        do throws(OTTLSyntaxError) {
            _ = try OTTLStatement(text, context: context)
            return nil
        } catch {
            return error
        }
    }

    static func logs(_ records: [OTLPLogRecord], resource: [OTLPKeyValue] = [], scope: String = "") -> OTLPLogsData {
        OTLPLogsData(resourceLogs: [OTLPResourceLogs(
            resource: OTLPResource(attributes: resource),
            scopeLogs: [OTLPScopeLogs(scope: OTLPInstrumentationScope(name: scope), logRecords: records)])])
    }

    static func records(_ data: OTLPLogsData) -> [OTLPLogRecord] {
        data.resourceLogs.flatMap { $0.scopeLogs.flatMap(\.logRecords) }
    }
}
