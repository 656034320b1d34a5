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
    /// The IP address the request came from (the collector's `client.Info.Addr`), set by the receivers whether
    /// or not they hand the headers on; `otelcol.processor.k8sattributes` finds the sending pod by it. Like the
    /// collector's, it does not survive batching: the batch processor hands batches on without it.
    public var address: String?

    public init() {}

    public init(address: String?) {
        self.address = address
    }

    /// Metadata from `(name, value)` pairs, repeated names keeping every value in order.
    public init(_ pairs: some Sequence<(String, String)>, address: String? = nil) {
        self.address = address
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

    /// No headers (an address alone does not count: batches are kept apart by headers only).
    public var isEmpty: Bool { values.isEmpty }

    /// Equal when the headers are: the address identifies a connection, not a kind of batch.
    public static func == (lhs: ClientMetadata, rhs: ClientMetadata) -> Bool { lhs.values == rhs.values }
    public func hash(into hasher: inout Hasher) { hasher.combine(values) }

    /// The IP address in a gRPC peer description (`ipv4:10.1.2.3:5000`, `ipv6:[fd00::1]:443`), or nil.
    public static func address(ofGRPCPeer peer: String) -> String? {
        let parts = peer.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, parts[0] == "ipv4" || parts[0] == "ipv6" else { return nil }
        var rest = parts[1]
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            return String(rest[rest.index(after: rest.startIndex)..<close])
        }
        if let colon = rest.lastIndex(of: ":") { rest = rest[..<colon] }
        return rest.isEmpty ? nil : String(rest)
    }

    /// The metadata of the request being handled; empty outside of a receiver's call.
    @TaskLocal public static var current = ClientMetadata()
}
