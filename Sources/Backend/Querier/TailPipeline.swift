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
/// pipeline runs, as Loki's tailer does; a query without stages beyond line filters holds it only for the lookup.
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
        guard let pipeline else {
            // Only the decision is kept per stream: the line filters run outside the lock.
            guard state.withLock({ remember(labels, in: &$0).selected }) else { return [] }
            var kept: [TailEntry] = []
            for entry in pushed where entry.line.withUnsafeBytes({ lineFilters.matches($0) }) {
                kept.append(TailEntry(labels: labels, timestamp: entry.timestamp, line: Array(entry.line),
                                      structuredMetadata: entry.structuredMetadata))
            }
            return kept
        }
        return state.withLock { state -> [TailEntry] in
            guard let stream = remember(labels, in: &state).pipeline else { return [] }
            var kept: [TailEntry] = []
            for entry in pushed {
                let tailed = entry.line.withUnsafeBytes { line -> TailEntry? in
                    guard lineFilters.matches(line),
                          let result = stream.logEntry(timestamp: entry.timestamp, line: line,
                                                       metadata: entry.structuredMetadata, categorize: categorize)
                    else { return nil }
                    return TailEntry(labels: result.labels, timestamp: entry.timestamp,
                                     line: result.rewrittenLine ?? Array(entry.line),
                                     structuredMetadata: result.structuredMetadata, parsed: result.parsed)
                }
                if let tailed { kept.append(tailed) }
            }
            if stream.labelSets.count > Self.maxLabelSetsPerStream {
                state.streams[labels]?.pipeline = pipeline.stream(labels: labels)
            }
            return kept
        }
    }

    /// The stream's decision (and pipeline), remembered or made now, marked as just used.
    private func remember(_ labels: LabelSet, in state: inout State) -> Stream {
        state.clock &+= 1
        if let known = state.streams[labels] {
            state.streams[labels]?.lastUsed = state.clock
            return known
        }
        if state.streams.count >= Self.maxStreams { Self.forgetLeastRecent(&state.streams) }
        let selected = matchers.allSatisfy { $0.matches(labels[$0.name] ?? "") }
        let stream = Stream(selected: selected, pipeline: selected ? pipeline?.stream(labels: labels) : nil,
                            lastUsed: state.clock)
        state.streams[labels] = stream
        return stream
    }

    /// Forgets the least recently used quarter of the streams.
    private static func forgetLeastRecent(_ streams: inout [LabelSet: Stream]) {
        let uses = streams.values.map(\.lastUsed).sorted()
        let cutoff = uses[uses.count / 4]
        streams = streams.filter { $0.value.lastUsed > cutoff }
    }
}
