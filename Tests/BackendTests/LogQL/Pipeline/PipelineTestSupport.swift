import Testing
import Wire
@testable import Backend

/// Runs `stages` on one line of a stream and returns the result (nil when dropped).
func runPipeline(
    _ stages: [PipelineStage], line: String, stream: [String: String] = [:], metadata: [LabelPair] = [],
    unwrap: Unwrap? = nil, needed: Set<String>? = nil, timestamp: Int64 = 0
) throws -> PipelineResult? {
    let pipeline = try LogPipeline(stages, unwrap: unwrap, neededLabels: needed)
    let labels = LabelSet(stream.map { LabelPair(name: $0.key, value: $0.value) })
    let streamPipeline = pipeline.stream(labels: labels)
    return Array(line.utf8).withUnsafeBytes {
        streamPipeline.process(timestamp: timestamp, line: $0, metadata: metadata)
    }
}

/// The result's labels as a dictionary, for compact expectations.
func labelsOf(_ result: PipelineResult?) -> [String: String] {
    guard let result else { return [:] }
    var out: [String: String] = [:]
    for pair in result.labels.pairs { out[pair.name] = pair.value }
    return out
}

func lineOf(_ result: PipelineResult?, original: String) -> String {
    guard let result else { return "<dropped>" }
    return result.rewrittenLine.map { String(decoding: $0, as: UTF8.self) } ?? original
}

func matcher(_ name: String, _ kind: LabelMatcher.Kind, _ value: String) -> LabelMatcher {
    // Test matchers are valid regexes.
    // swiftlint:disable:next force_try
    try! LabelMatcher(name: name, kind: kind, value: value)
}
