/// An attribute value or log body (`opentelemetry.proto.common.v1.AnyValue`): a scalar, or nested arrays and
/// key-value lists.
///
/// OTLP also allows an `AnyValue` with nothing set ("empty"). Where it stands as a field (a body, a key's value)
/// the model says so with `nil`; as an element of `array` it has no spelling here, and the decoders leave such
/// elements out.
public enum OTLPAnyValue: Sendable, Equatable {
    case string(String)
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case array([OTLPAnyValue])
    case kvlist([OTLPKeyValue])
    case bytes([UInt8])
}

/// A key and its value (`opentelemetry.proto.common.v1.KeyValue`).
public struct OTLPKeyValue: Sendable, Equatable {
    public var key: String
    /// Nil when the sender set no value (an empty `AnyValue`).
    public var value: OTLPAnyValue?

    public init(key: String, value: OTLPAnyValue?) {
        self.key = key
        self.value = value
    }
}
