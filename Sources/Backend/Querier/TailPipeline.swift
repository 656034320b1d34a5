import Synchronization
import Wire

/// A live tail's query applied to pushed entries, as a log query applies it (Loki's ingester `tailer`): the stream
/// selector, the line filters, then the rest of the log pipeline. Entries the pipeline drops are not kept; kept
/// ones carry the rewritten line and the pipeline's labels (`StreamPipeline.logEntry`, the step `selectLogs` runs),
/// so one pushed stream may become several tail streams.
///
/// A `StreamPipeline` holds per-stream state, so one is kept per stream the selector matches, and the match
/// decision per stream too, so a stream the tail does not select costs a lookup. Tails live long and streams come
/// and go: at most `maxStreams` streams are remembered (the least recently pushed quarter is forgotten when a new one
/// would pass that), and a stream pipeline that has interned `maxLabelSetsPerStream` label sets (a parser pulling a
/// request ID out of every line) is started afresh. Pushers of one tail's streams take its lock in turn while the
/// pipeline runs, as Loki's tailer does.
public final class TailPipeline: TailFilter {
    public static let maxStreams = 1024
    static let maxLabelSetsPerStream = 4096

    let matchers: [LabelMatcher]
    let lineFilters: LineFilterChain
    let pipeline: LogPipeline?
    let categorize: Bool

    private struct Stream {
        /// Whether the selector matches the stream.
        var selected: Bool
        /// Only for selected streams of a query with a pipeline.
        var pipeline: StreamPipeline?
        var lastUsed: UInt64
    }

    private struct State {
        var streams: [LabelSet: Stream] = [:]
        var clock: UInt64 = 0
    }

    private let state = Mutex(State())

    /// `lineFilters` run on the raw line first; `pipeline` is the rest (`LogPipeline.split`). `categorize`: the
    /// client asked for categorized labels.
    public init(matchers: [LabelMatcher], lineFilters: LineFilterChain, pipeline: LogPipeline?, categorize: Bool) {
        self.matchers = matchers
        self.lineFilters = lineFilters
        self.pipeline = pipeline
        self.categorize = categorize
    }

    /// Streams whose decision (and pipeline) is remembered now.
    var rememberedStreams: Int { state.withLock { $0.streams.count } }

    /// The label sets the stream's pipeline holds interned now (0 without one).
    func internedLabelSets(of labels: LabelSet) -> Int {
        state.withLock { $0.streams[labels]?.pipeline?.labelSets.count ?? 0 }
    }

    public func entries(labels: LabelSet, pushed: [PushEntry]) -> [TailEntry] {
        state.withLock { state -> [TailEntry] in
            state.clock &+= 1
            var stream: Stream
            if let known = state.streams[labels] {
                stream = known
                guard stream.selected else {
                    state.streams[labels]?.lastUsed = state.clock
                    return []
                }
            } else {
                if state.streams.count >= Self.maxStreams { Self.forgetLeastRecent(&state.streams) }
                let selected = matchers.allSatisfy { $0.matches(labels[$0.name] ?? "") }
                stream = Stream(selected: selected, pipeline: selected ? pipeline?.stream(labels: labels) : nil,
                                lastUsed: state.clock)
                guard selected else {
                    state.streams[labels] = stream
                    return []
                }
            }
            stream.lastUsed = state.clock
            var kept: [TailEntry] = []
            for entry in pushed {
                let tailed = entry.line.withUnsafeBytes { line -> TailEntry? in
                    guard lineFilters.matches(line) else { return nil }
                    guard let pipeline = stream.pipeline else {
                        return TailEntry(labels: labels, timestamp: entry.timestamp, line: Array(entry.line),
                                         structuredMetadata: entry.structuredMetadata)
                    }
                    guard let result = pipeline.logEntry(timestamp: entry.timestamp, line: line,
                                                         metadata: entry.structuredMetadata, categorize: categorize)
                    else { return nil }
                    return TailEntry(labels: result.labels, timestamp: entry.timestamp,
                                     line: result.rewrittenLine ?? Array(entry.line),
                                     structuredMetadata: result.structuredMetadata, parsed: result.parsed)
                }
                if let tailed { kept.append(tailed) }
            }
            if let grown = stream.pipeline, grown.labelSets.count > Self.maxLabelSetsPerStream {
                stream.pipeline = pipeline?.stream(labels: labels)
            }
            state.streams[labels] = stream
            return kept
        }
    }

    /// Forgets the least recently used quarter of the streams.
    private static func forgetLeastRecent(_ streams: inout [LabelSet: Stream]) {
        let uses = streams.values.map(\.lastUsed).sorted()
        let cutoff = uses[uses.count / 4]
        streams = streams.filter { $0.value.lastUsed > cutoff }
    }
}
