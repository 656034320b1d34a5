/// What a receiver knows about the client that sent the data it hands on: the OpenTelemetry Collector's
/// `client.Info` metadata. `otelcol.receiver.otlp` with `include_metadata = true` sets it to the request's HTTP
/// headers; `otelcol.processor.batch` with `metadata_keys` batches by it and hands each batch on with just those
/// keys.
///
/// It travels with the call, not with the data, as Go's `context.Context` carries it: a receiver sets
/// ``current`` for the duration of its `consume` call, and every component that call reaches reads it there.
public struct ClientMetadata: Sendable, Hashable {
    /// Values by key; keys are lowercased, as HTTP header names compare case-insensitively.
    public private(set) var values: [String: [String]] = [:]

    public init() {}

    /// Metadata from `(name, value)` pairs, repeated names keeping every value in order.
    public init(_ pairs: some Sequence<(String, String)>) {
        for (name, value) in pairs {
            values[name.lowercased(), default: []].append(value)
        }
    }

    /// The values of `key` (any case); empty when absent.
    public subscript(key: String) -> [String] {
        values[key.lowercased()] ?? []
    }

    /// Just `keys`, each with its values (possibly none), as the batch processor hands a batch on.
    public func only(_ keys: [String]) -> ClientMetadata {
        var result = ClientMetadata()
        for key in keys {
            result.values[key.lowercased()] = self[key]
        }
        return result
    }

    public var isEmpty: Bool { values.isEmpty }

    /// The metadata of the request being handled; empty outside of a receiver's call.
    @TaskLocal public static var current = ClientMetadata()
}
