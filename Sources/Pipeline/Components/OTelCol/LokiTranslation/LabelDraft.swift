import GoCompat
import Wire

/// The labels of one record while they are gathered: attribute names as they are (`service.name`), later values
/// replacing earlier ones, as Prometheus' `LabelSet.Merge` does. The resource's labels (`base`) are worked out once
/// and frozen; a record only adds to them (`added`, which also holds new values for base names).
struct LabelDraft {
    private(set) var base: [(name: String, value: String)] = []
    private(set) var baseNames = NameSet()
    /// Which resource `base` came from, for ``LabelSetCache``.
    private(set) var baseID = -1
    private(set) var added: [(name: String, value: String)] = []

    /// Moves every label set so far into `base`.
    mutating func freeze(id: Int) {
        base = Self.merged(base, added)
        added = []
        baseNames = NameSet(base.map(\.name))
        baseID = id
    }

    var hasAdded: Bool { !added.isEmpty }

    mutating func set(_ name: String, _ value: String) {
        if let index = added.firstIndex(where: { GoString.equal($0.name, name) }) {
            added[index].value = value
        } else {
            added.append((name, value))
        }
    }

    /// `convertAttributesToLabels`: every attribute the hint names that exists becomes a label.
    mutating func promote(_ hint: OTLPAnyValue?, from attributes: [OTLPKeyValue]) {
        for rawName in LokiAttributes.hintNames(hint) {
            let name = LokiAttributes.trimSpace(rawName)
            if let value = LokiAttributes.lookup(name, in: attributes) {
                set(name, LokiAttributes.asString(value))
            }
        }
    }

    func addedNameMatches(_ key: String) -> Bool {
        added.contains { GoString.equal($0.name, key) }
    }

    /// `removeAttributes`: drops the hints and every attribute named like a label.
    func removePromoted(from attributes: inout [OTLPKeyValue]) {
        guard let first = attributes.firstIndex(where: { isRemoved($0.key) }) else { return }
        var kept = Array(attributes[..<first])
        kept.reserveCapacity(attributes.count - 1)
        for pair in attributes[(first + 1)...] where !isRemoved(pair.key) { kept.append(pair) }
        attributes = kept
    }

    private func isRemoved(_ key: String) -> Bool {
        Self.hints.contains(key) || baseNames.contains(key) || addedNameMatches(key)
    }

    static let hints = NameSet([
        LokiTranslator.attributeLabelsHint, LokiTranslator.resourceLabelsHint, LokiTranslator.tenantHint,
        LokiTranslator.formatHint,
    ])

    private static func merged(_ base: [(name: String, value: String)], _ added: [(name: String, value: String)])
        -> [(name: String, value: String)]
    {
        var result = base
        for (name, value) in added {
            if let index = result.firstIndex(where: { GoString.equal($0.name, name) }) {
                result[index].value = value
            } else {
                result.append((name, value))
            }
        }
        return result
    }

    /// The labels with Prometheus names. Go builds this from a map in random order, so two names that normalize
    /// alike (`a.b`, `a_b`) keep an arbitrary one there; here the bytewise-last original name wins, every time.
    /// Labels with an empty value are left out: Prometheus and Loki read them as absent.
    func labelSet() -> LabelSet {
        var ordered = Self.merged(base, added)
        if ordered.count > 1 {
            ordered.sort { GoString.compare($0.name, $1.name) < 0 }
        }
        var result: [LabelPair] = []
        result.reserveCapacity(ordered.count)
        for (name, value) in ordered {
            let normalized = PrometheusLabelName.normalize(name)
            if let index = result.firstIndex(where: { $0.name == normalized }) {
                result.remove(at: index)
            }
            guard !normalized.isEmpty, !value.isEmpty else { continue }
            result.append(LabelPair(name: normalized, value: value))
        }
        return LabelSet(result)
    }
}

/// A few names to test keys against, their bytes laid out once so that a test costs a length check and, rarely,
/// one `memcmp`.
struct NameSet: Sendable {
    private var bytes: [UInt8] = []
    private var spans: [(start: Int, count: Int)] = []

    init(_ names: [String] = []) {
        for name in names {
            spans.append((bytes.count, name.utf8.count))
            bytes.append(contentsOf: name.utf8)
        }
    }

    func contains(_ key: String) -> Bool {
        let count = key.utf8.count
        guard spans.contains(where: { $0.count == count }) else { return false }
        guard let found = key.utf8.withContiguousStorageIfAvailable({ contains(utf8: $0) }) else {
            return Array(key.utf8).withUnsafeBufferPointer { contains(utf8: $0) }
        }
        return found
    }

    private func contains(utf8 keyBytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let count = keyBytes.count
        return bytes.withUnsafeBufferPointer { all in
            spans.contains { span in
                span.count == count
                    && GoString.equal(keyBytes, UnsafeBufferPointer(rebasing: all[span.start..<(span.start + span.count)]))
            }
        }
    }
}

/// Records in a row usually carry the same labels: the label set of the last draft is kept and handed out again
/// when the next draft has the same resource labels and the same labels of its own, byte for byte.
struct LabelSetCache {
    private var lastBase = -1
    private var lastAdded: [(name: String, value: String)] = []
    private var lastSet: LabelSet?
    /// The label sets of the current resource's plain records, by `level` value (none: the resource's labels).
    private var levelBase = -1
    private var levelSets: [(level: String?, set: LabelSet)] = []

    /// The resource's labels plus `level` (when given): the set of a record without hints of its own.
    mutating func labelSet(for base: LabelDraft, level: String?) -> LabelSet {
        if base.baseID != levelBase {
            levelBase = base.baseID
            levelSets.removeAll(keepingCapacity: true)
        }
        let found = levelSets.first { entry in
            switch (entry.level, level) {
            case (nil, nil): true
            case (let cached?, let wanted?): GoString.equal(cached, wanted)
            default: false
            }
        }
        if let found { return found.set }
        var draft = base
        if let level { draft.set("level", level) }
        let set = draft.labelSet()
        // Levels are few; a record stream that invents new ones only costs the scan, never unbounded memory.
        if levelSets.count < 32 { levelSets.append((level, set)) }
        return set
    }

    mutating func labelSet(for draft: LabelDraft) -> LabelSet {
        if let lastSet, draft.baseID == lastBase, draft.added.count == lastAdded.count,
           zip(draft.added, lastAdded).allSatisfy({ GoString.equal($0.name, $1.name) && GoString.equal($0.value, $1.value) })
        {
            return lastSet
        }
        let set = draft.labelSet()
        lastBase = draft.baseID
        lastAdded = draft.added
        lastSet = set
        return set
    }
}
