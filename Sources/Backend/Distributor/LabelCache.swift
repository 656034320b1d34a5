import Synchronization
import Wire

/// Parsed and validated stream labels by the exact text the client sent.
///
/// Clients send the same label strings request after request, so parsing and validating once per distinct
/// string takes label handling off the hot path. Bounded: cleared when it grows past `capacity`.
final class LabelCache: Sendable {
    struct Parsed: Sendable {
        let labels: LabelSet
        let fingerprint: UInt64
        /// The canonical text (`{a="b", c="d"}`) used in messages.
        let text: String
    }

    struct Failure: Error, Sendable {
        let reason: DiscardReason
        let message: String
    }

    private struct Key: Hashable {
        let text: String
        let limitsID: LimitsKey
    }

    /// The limits that change whether a label set is valid.
    private struct LimitsKey: Hashable {
        let names: Int
        let nameLength: Int
        let valueLength: Int
    }

    private let entries = Mutex<[Key: Result<Parsed, Failure>]>([:])
    private let capacity: Int

    init(capacity: Int = 50_000) {
        self.capacity = capacity
    }

    func parse(_ text: String, limits: Limits) -> Result<Parsed, Failure> {
        let key = Key(text: text, limitsID: LimitsKey(
            names: limits.maxLabelNamesPerSeries, nameLength: limits.maxLabelNameLength,
            valueLength: limits.maxLabelValueLength))
        if let hit = entries.withLock({ $0[key] }) { return hit }
        let result = Self.validate(text, limits: limits)
        entries.withLock { cache in
            if cache.count >= capacity { cache.removeAll(keepingCapacity: true) }
            cache[key] = result
        }
        return result
    }

    /// Loki's label checks (`validation.ValidateLabels`), with its messages.
    static func validate(_ text: String, limits: Limits) -> Result<Parsed, Failure> {
        let pairs: [LabelPair]
        do {
            pairs = try LabelParser.parse(text)
        } catch {
            return .failure(Failure(reason: .invalidLabels,
                                    message: "Error parsing labels '\(text)' with error: \(error)"))
        }
        guard !pairs.isEmpty else {
            return .failure(Failure(reason: .missingLabels,
                                    message: "error at least one label pair is required per stream"))
        }
        let labels = LabelSet(pairs)
        let canonical = labels.description
        if limits.maxLabelNamesPerSeries > 0 && labels.pairs.count > limits.maxLabelNamesPerSeries {
            return .failure(Failure(reason: .maxLabelNamesPerSeries, message:
                "entry for stream '\(canonical)' has \(labels.pairs.count) label names; limit \(limits.maxLabelNamesPerSeries)"))
        }
        var previous: String? = nil
        for pair in labels.pairs {
            if pair.name.utf8.count > limits.maxLabelNameLength {
                return .failure(Failure(reason: .labelNameTooLong,
                                        message: "stream '\(canonical)' has label name too long: '\(pair.name)'"))
            }
            if pair.value.utf8.count > limits.maxLabelValueLength {
                return .failure(Failure(reason: .labelValueTooLong,
                                        message: "stream '\(canonical)' has label value too long: '\(pair.value)'"))
            }
            if pair.name == previous {
                return .failure(Failure(reason: .duplicateLabelNames,
                                        message: "stream '\(canonical)' has duplicate label name: '\(pair.name)'"))
            }
            previous = pair.name
        }
        return .success(Parsed(labels: labels, fingerprint: labels.fingerprint, text: canonical))
    }
}
