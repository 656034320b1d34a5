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
        /// The normalised value of the stream's level label (`level`, `severity`, …), for `detected_level`.
        let level: String?
    }

    struct Failure: Error, Sendable {
        let reason: DiscardReason
        let message: String
    }

    private struct Key: Hashable {
        let text: String
        let limitsID: LimitsKey
    }

    /// The limits that change whether a label set is valid, or what it becomes.
    private struct LimitsKey: Hashable {
        let names: Int
        let nameLength: Int
        let valueLength: Int
        /// `discover_service_name`, or empty when the caller discovers none (OTLP pushes name their service).
        let discoverServiceName: [String]
    }

    private let entries = Mutex<[Key: Result<Parsed, Failure>]>([:])
    private let capacity: Int

    init(capacity: Int = 50_000) {
        self.capacity = capacity
    }

    /// `text` parsed and checked; with `discoverServiceName`, a stream without `service_name` gets one first.
    func parse(_ text: String, limits: Limits, discoverServiceName: Bool = true) -> Result<Parsed, Failure> {
        let discover = discoverServiceName ? limits.discoverServiceName : []
        let key = Key(text: text, limitsID: LimitsKey(
            names: limits.maxLabelNamesPerSeries, nameLength: limits.maxLabelNameLength,
            valueLength: limits.maxLabelValueLength, discoverServiceName: discover))
        if let hit = entries.withLock({ $0[key] }) { return hit }
        let result = Self.validate(text, limits: limits, discoverServiceName: discover)
        entries.withLock { cache in
            if cache.count >= capacity { cache.removeAll(keepingCapacity: true) }
            cache[key] = result
        }
        return result
    }

    /// Loki's label checks (`validation.ValidateLabels`), with its messages, after Loki's service name discovery
    /// (`push.ParseLokiRequest`): a stream with no `service_name` label takes the value of the first label in
    /// `discoverServiceName` it has, else `unknown_service`. Aggregated-metric streams are left alone.
    static func validate(_ text: String, limits: Limits, discoverServiceName: [String] = []) -> Result<Parsed, Failure> {
        var pairs: [LabelPair]
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
        if !discoverServiceName.isEmpty,
           !pairs.contains(where: { $0.name == OTLPPushMapper.serviceName || $0.name == "__aggregated_metric__" }) {
            let found = discoverServiceName.lazy.compactMap { name in
                pairs.first { $0.name == name && !$0.value.isEmpty }?.value
            }.first
            pairs.append(LabelPair(name: OTLPPushMapper.serviceName, value: found ?? OTLPPushMapper.unknownService))
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
        return .success(Parsed(labels: labels, fingerprint: labels.fingerprint, text: canonical,
                               level: LogLevelDetector.level(of: labels)))
    }
}
