import Wire

/// What `/loki/api/v1/index/stats` answers: how much data a selector covers in a time range.
public struct IndexStats: Sendable, Equatable {
    public var streams = 0
    public var chunks = 0
    /// Uncompressed bytes: lines plus structured metadata.
    public var bytes = 0
    public var entries = 0

    public init() {}
}

/// How `/loki/api/v1/index/volume` groups bytes: per series (the labels in question) or per label name.
public enum VolumeAggregation: String, Sendable {
    case series
    case labels
}

/// One group of a volume answer: its name (a label set's text, or a label name) and its bytes.
public struct VolumeGroup: Sendable, Equatable {
    public var name: String
    /// The labels the group stands for: the series' labels, or `{name: ""}` when aggregating by label name.
    public var labels: [LabelPair]
    public var bytes: Int
}

extension Querier {
    /// One stream that matched, with its chunks overlapping the range, each chunk once.
    struct StreamChunks {
        var labels: LabelSet
        var chunks: [Ingester.ChunkFigures] = []
    }

    private struct ChunkKey: Hashable {
        let fingerprint: UInt64
        let from: Int64
        let through: Int64
        let checksum: UInt32
    }

    /// The streams of `tenant` that satisfy every matcher, each with its chunks overlapping [from, through]
    /// milliseconds: the ingester's (head, unflushed and recently flushed) and the index's, a chunk in both counted
    /// once. Figures come from the chunk references; no chunk is read.
    func streamChunks(
        tenant: String, from: Int64, through: Int64, matchers: [LabelMatcher]
    ) async throws -> [StreamChunks] {
        var streams: [LabelSet: StreamChunks] = [:]
        var seen = Set<ChunkKey>()
        for memory in ingester.chunkFigures(tenant: tenant, from: from, through: through)
        where Self.matches(matchers, memory.labels.pairs) {
            var slot = streams[memory.labels] ?? StreamChunks(labels: memory.labels)
            for chunk in memory.chunks {
                if let checksum = chunk.checksum {
                    guard seen.insert(ChunkKey(fingerprint: memory.fingerprint, from: chunk.from,
                                               through: chunk.through, checksum: checksum)).inserted
                    else { continue }
                }
                slot.chunks.append(chunk)
            }
            streams[memory.labels] = slot
        }
        try Task.checkCancellation()
        let stored = try await index.series(tenant: tenant, from: from, through: through,
                                            matching: { pairs in Self.matches(matchers, pairs) })
        for series in stored {
            let labels = LabelSet(series.labels)
            var slot = streams[labels] ?? StreamChunks(labels: labels)
            for ref in series.chunks where seen.insert(ChunkKey(
                fingerprint: series.fingerprint, from: ref.from, through: ref.through, checksum: ref.checksum)).inserted {
                slot.chunks.append(Ingester.ChunkFigures(from: ref.from, through: ref.through, entries: ref.entries,
                                                         bytes: ref.uncompressedSize, checksum: ref.checksum))
            }
            streams[labels] = slot
        }
        return streams.values.filter { !$0.chunks.isEmpty }
    }

    /// A chunk's share of [from, through]: all of it when it lies inside; otherwise the fraction of its time span
    /// that lies inside, as Loki's TSDB index prorates a partly covered chunk (entries assumed evenly spread).
    static func share(_ chunk: Ingester.ChunkFigures, from: Int64, through: Int64) -> (entries: Int, bytes: Int) {
        if chunk.from >= from && chunk.through <= through { return (chunk.entries, chunk.bytes) }
        let span = chunk.through - chunk.from
        guard span > 0 else { return (chunk.entries, chunk.bytes) }
        let inside = max(0, min(chunk.through, through) - max(chunk.from, from))
        let fraction = Double(inside) / Double(span)
        return (Int(Double(chunk.entries) * fraction), Int(Double(chunk.bytes) * fraction))
    }

    /// Loki's index statistics over [from, through] milliseconds: matching streams with a chunk in the range, those
    /// chunks, and their (prorated) entries and uncompressed bytes.
    public func indexStats(tenant: String, from: Int64, through: Int64, matchers: [LabelMatcher]) async throws -> IndexStats {
        var stats = IndexStats()
        for stream in try await streamChunks(tenant: tenant, from: from, through: through, matchers: matchers) {
            stats.streams += 1
            for chunk in stream.chunks {
                let part = Self.share(chunk, from: from, through: through)
                stats.chunks += 1
                stats.entries += part.entries
                stats.bytes += part.bytes
            }
        }
        return stats
    }

    /// Loki's volume over [from, through] milliseconds (`pkg/storage/stores/index/seriesvolume` and the TSDB
    /// index's `Volume`): uncompressed bytes of the matching streams, grouped per series on the labels in question
    /// (`targetLabels`, else the matchers' label names, else with `matchAll` every label) or per label name; the
    /// `limit` largest groups, largest first, ties by name.
    public func volume(
        tenant: String, from: Int64, through: Int64, matchers: [LabelMatcher], matchAll: Bool,
        targetLabels: [String], aggregateBy: VolumeAggregation, limit: Int
    ) async throws -> [VolumeGroup] {
        var matchers = matchers
        let wanted: Set<String>
        var includeAll = matchAll && targetLabels.isEmpty
        if targetLabels.isEmpty {
            wanted = Set(matchers.map(\.name))
        } else {
            wanted = Set(targetLabels)
            // Loki's PrepareLabelsAndMatchers: a target label the selector does not name must be present.
            for target in targetLabels where !matchers.contains(where: { $0.name == target }) {
                matchers.append(try LabelMatcher(name: target, kind: .regex, value: ".+"))
            }
            includeAll = false
        }
        var volumes: [String: VolumeGroup] = [:]
        for stream in try await streamChunks(tenant: tenant, from: from, through: through, matchers: matchers) {
            var entries = 0
            var bytes = 0
            for chunk in stream.chunks {
                let part = Self.share(chunk, from: from, through: through)
                entries += part.entries
                bytes += part.bytes
            }
            guard entries > 0 else { continue }
            switch aggregateBy {
            case .series:
                let kept = LabelSet(stream.labels.pairs.filter { includeAll || wanted.contains($0.name) })
                volumes[kept.description, default: VolumeGroup(name: kept.description, labels: kept.pairs, bytes: 0)]
                    .bytes += bytes
            case .labels:
                for pair in stream.labels.pairs where targetLabels.isEmpty || wanted.contains(pair.name) {
                    volumes[pair.name, default: VolumeGroup(
                        name: pair.name, labels: [LabelPair(name: pair.name, value: "")], bytes: 0)].bytes += bytes
                }
            }
        }
        let sorted = volumes.values.sorted { a, b in a.bytes != b.bytes ? a.bytes > b.bytes : a.name < b.name }
        return Array(sorted.prefix(limit))
    }

    /// Loki's detected labels of the streams with data in [start, end) nanoseconds (optionally only those `matchers`
    /// select): each label name with its number of distinct values, leaving out, as Loki does, labels whose values
    /// are all numbers or UUIDs (ids, not worth grouping by) unless they are `cluster`, `namespace`, `instance` or
    /// `pod`; sorted by name. Loki estimates the counts with a HyperLogLog sketch; these are exact.
    public func detectedLabels(
        tenant: String, start: Int64, end: Int64, matchers: [LabelMatcher]?
    ) async throws -> [(label: String, cardinality: Int)] {
        let found = try await series(tenant: tenant, selectors: matchers.map { [$0] } ?? [], start: start, end: end)
        var values: [String: Set<String>] = [:]
        for labels in found {
            for pair in labels.pairs { values[pair.name, default: []].insert(pair.value) }
        }
        let always: Set<String> = ["cluster", "namespace", "instance", "pod"]
        return values.filter { always.contains($0.key) || !Self.rejectsDetectedLabel(Array($0.value)) }
            .map { (label: $0.key, cardinality: $0.value.count) }
            .sorted { $0.label < $1.label }
    }

    /// Loki's `shouldRejectLabel`: no values, or only ids (numbers or UUIDs) beyond a 0/1 flag.
    static func rejectsDetectedLabel(_ values: [String]) -> Bool {
        if values.isEmpty { return true }
        if values.count <= 2 && values.allSatisfy({ $0 == "0" || $0 == "1" }) { return false }
        return values.allSatisfy { Double($0) != nil || isUUID($0) }
    }

    /// The forms Go's `uuid.Parse` accepts: 36 characters with dashes, optionally `urn:uuid:`-prefixed or braced,
    /// or 32 hex digits.
    static func isUUID(_ text: String) -> Bool {
        var bytes = Array(text.utf8)
        if bytes.count == 45, String(decoding: bytes.prefix(9), as: UTF8.self).lowercased() == "urn:uuid:" {
            bytes.removeFirst(9)
        } else if bytes.count == 38, bytes.first == UInt8(ascii: "{"), bytes.last == UInt8(ascii: "}") {
            bytes = Array(bytes.dropFirst().dropLast())
        }
        let isHex = { (byte: UInt8) -> Bool in
            (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 70) || (byte >= 97 && byte <= 102)
        }
        switch bytes.count {
        case 32: return bytes.allSatisfy(isHex)
        case 36:
            for (index, byte) in bytes.enumerated() {
                let dash = index == 8 || index == 13 || index == 18 || index == 23
                if dash ? byte != UInt8(ascii: "-") : !isHex(byte) { return false }
            }
            return true
        default: return false
        }
    }
}
