/// One log record (`opentelemetry.proto.logs.v1.LogRecord`). Every field is optional in OTLP; absent fields are
/// zero or empty here.
public struct OTLPLogRecord: Sendable, Equatable {
    /// When the event happened, in nanoseconds since the Unix epoch; 0 when unknown.
    public var timeUnixNano: UInt64
    /// When the event was seen by the collection system, in nanoseconds since the Unix epoch; 0 when unknown.
    public var observedTimeUnixNano: UInt64
    /// `SeverityNumber`: 0 unspecified, 1–4 TRACE, 5–8 DEBUG, 9–12 INFO, 13–16 WARN, 17–20 ERROR, 21–24 FATAL.
    /// Other values are kept as sent (protobuf enums are open). `OTLPSeverity` has the names.
    public var severityNumber: Int32
    /// The severity as the source spelled it (`"Information"`, `"WARN"`); empty when absent.
    public var severityText: String
    /// The body; nil when absent (an `AnyValue` with no value set also decodes as nil).
    public var body: OTLPAnyValue?
    public var attributes: [OTLPKeyValue]
    public var droppedAttributesCount: UInt32
    /// The low 8 bits are the W3C trace flags; the rest are reserved.
    public var flags: UInt32
    /// 16 bytes, or empty when absent. The decoders reject any other length, as the OpenTelemetry Collector does.
    public var traceID: [UInt8]
    /// 8 bytes, or empty when absent. The decoders reject any other length.
    public var spanID: [UInt8]
    /// The name of the event this record describes (`event_name`); empty when it is not an event.
    public var eventName: String

    public init(timeUnixNano: UInt64 = 0, observedTimeUnixNano: UInt64 = 0, severityNumber: Int32 = 0,
                severityText: String = "", body: OTLPAnyValue? = nil, attributes: [OTLPKeyValue] = [],
                droppedAttributesCount: UInt32 = 0, flags: UInt32 = 0, traceID: [UInt8] = [], spanID: [UInt8] = [],
                eventName: String = "") {
        self.timeUnixNano = timeUnixNano
        self.observedTimeUnixNano = observedTimeUnixNano
        self.severityNumber = severityNumber
        self.severityText = severityText
        self.body = body
        self.attributes = attributes
        self.droppedAttributesCount = droppedAttributesCount
        self.flags = flags
        self.traceID = traceID
        self.spanID = spanID
        self.eventName = eventName
    }
}
