/// The logs of one OTLP export request (`opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest`, which
/// has the same single field as `opentelemetry.proto.logs.v1.LogsData`), decoded from protobuf or OTLP/JSON.
///
/// Plain values: strings are `String`, ids and `bytesValue` are `[UInt8]`, so a decoded request owns its data and
/// can outlive the request body. Decode with `OTLPProtobuf` or `OTLPJSON`; both decoders produce the same value
/// for the same message.
public struct OTLPLogsData: Sendable, Equatable {
    public var resourceLogs: [OTLPResourceLogs]

    public init(resourceLogs: [OTLPResourceLogs] = []) {
        self.resourceLogs = resourceLogs
    }

    /// The number of log records in all resources and scopes (what `rejected_log_records` counts).
    public var recordCount: Int {
        var count = 0
        for resource in resourceLogs {
            for scope in resource.scopeLogs { count += scope.logRecords.count }
        }
        return count
    }
}

/// The logs of one resource (`opentelemetry.proto.logs.v1.ResourceLogs`).
public struct OTLPResourceLogs: Sendable, Equatable {
    /// The resource; empty (no attributes) when the sender left it out, which OTLP reads as "unknown".
    public var resource: OTLPResource
    public var scopeLogs: [OTLPScopeLogs]
    /// The schema URL of `resource` (`schema_url`), empty when absent.
    public var schemaURL: String

    public init(resource: OTLPResource = OTLPResource(), scopeLogs: [OTLPScopeLogs] = [], schemaURL: String = "") {
        self.resource = resource
        self.scopeLogs = scopeLogs
        self.schemaURL = schemaURL
    }
}

/// The entity that produced the logs (`opentelemetry.proto.resource.v1.Resource`), e.g. `service.name`.
/// `entity_refs` (development in OTLP) is not kept.
public struct OTLPResource: Sendable, Equatable {
    public var attributes: [OTLPKeyValue]
    public var droppedAttributesCount: UInt32

    public init(attributes: [OTLPKeyValue] = [], droppedAttributesCount: UInt32 = 0) {
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
    }

    /// True when nothing is set: the encoders then leave the field out, as an absent resource reads the same.
    public var isEmpty: Bool { attributes.isEmpty && droppedAttributesCount == 0 }
}

/// The logs of one instrumentation scope within a resource (`opentelemetry.proto.logs.v1.ScopeLogs`).
public struct OTLPScopeLogs: Sendable, Equatable {
    public var scope: OTLPInstrumentationScope
    public var logRecords: [OTLPLogRecord]
    /// The schema URL of the records and scope (`schema_url`), empty when absent.
    public var schemaURL: String

    public init(scope: OTLPInstrumentationScope = OTLPInstrumentationScope(), logRecords: [OTLPLogRecord] = [],
                schemaURL: String = "") {
        self.scope = scope
        self.logRecords = logRecords
        self.schemaURL = schemaURL
    }
}

/// The library or component that emitted the logs (`opentelemetry.proto.common.v1.InstrumentationScope`).
public struct OTLPInstrumentationScope: Sendable, Equatable {
    public var name: String
    public var version: String
    public var attributes: [OTLPKeyValue]
    public var droppedAttributesCount: UInt32

    public init(name: String = "", version: String = "", attributes: [OTLPKeyValue] = [],
                droppedAttributesCount: UInt32 = 0) {
        self.name = name
        self.version = version
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
    }

    /// True when nothing is set: the encoders then leave the field out.
    public var isEmpty: Bool {
        name.isEmpty && version.isEmpty && attributes.isEmpty && droppedAttributesCount == 0
    }
}

/// The response to an export (`ExportLogsServiceResponse`): its `partial_success`, all zero/empty when every
/// record was accepted.
public struct OTLPLogsResponse: Sendable, Equatable {
    /// How many records the server rejected (`partial_success.rejected_log_records`).
    public var rejectedLogRecords: Int64
    /// Why, or a warning for a fully accepted request (`partial_success.error_message`).
    public var errorMessage: String

    public init(rejectedLogRecords: Int64 = 0, errorMessage: String = "") {
        self.rejectedLogRecords = rejectedLogRecords
        self.errorMessage = errorMessage
    }
}
