import Wire

/// One of `count` disjoint parts of a tenant's streams: the streams whose label fingerprint (Prometheus' hash, as
/// the ingester and the index key streams) modulo `count` is `index`. Every stream falls in exactly one shard, so
/// the shards of a query together read each entry once.
public struct StreamShard: Sendable, Hashable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        precondition(count > 0 && (0..<count).contains(index), "a shard index lies in 0..<count")
        self.index = index
        self.count = count
    }

    public func contains(_ labels: LabelSet) -> Bool {
        count == 1 || labels.fingerprint % UInt64(count) == UInt64(index)
    }

    public var description: String { "\(index)_of_\(count)" }
}
