/// What `loadgen verify` found for one run: per stream, which sequence numbers arrived and how often, checked
/// against the records the run had acknowledged (``RunManifest``).
struct VerifyTally: Sendable {
    /// One stream's findings.
    struct StreamReport: Sendable, Equatable {
        var key: String
        /// Records acknowledged (numbers `0..<expected`).
        var expected: Int
        /// Entries that carried this stream's marker, duplicates included.
        var received: Int
        var missing: Int
        /// The first few runs of missing numbers, as closed ranges.
        var missingRanges: [ClosedRange<Int>]
        /// Extra copies of numbers already seen.
        var duplicated: Int
        /// Entries whose number is below one already seen for the stream (in timestamp order).
        var outOfOrder: Int
        /// Distinct numbers at or past `expected`: records of requests never acknowledged that arrived anyway.
        var unacknowledged: Int
    }

    private struct StreamState {
        /// How many times each number arrived (saturating), indexed by number; grows as numbers arrive.
        var counts: [UInt8] = []
        /// Numbers too far past the others to index (only a corrupt marker has one), with their copies.
        var far: [Int: Int] = [:]
        var received = 0
        var duplicated = 0
        var outOfOrder = 0
        var highest = -1
    }

    /// Numbers more than this far past a stream's highest go to `far` instead of growing its array.
    private static let maxGrowth = 10_000_000

    let runID: String
    private var streams: [String: StreamState] = [:]
    /// Entries whose marker names another run, or that have none (the query's filter should exclude both).
    private(set) var foreignEntries = 0
    /// `arrival - sent` in ns, for entries whose arrival was observed (``VerifyCommand`` with `--follow`).
    private(set) var latencies: [Int64] = []

    init(runID: String) {
        self.runID = runID
    }

    /// Counts one entry's line, in timestamp order; `observedNanos` is when it was first seen, when that is the
    /// arrival (nil after the fact).
    mutating func add(line: some Collection<UInt8>, observedNanos: Int64?) {
        guard let marker = RecordMarker.parse(line), marker.runID == runID else {
            foreignEntries += 1
            return
        }
        let key = marker.streamKey
        var state = streams.removeValue(forKey: key) ?? StreamState()
        state.received += 1
        let sequence = marker.sequence
        let copies: Int
        if sequence < state.counts.count + Self.maxGrowth {
            if sequence >= state.counts.count {
                state.counts.append(contentsOf: repeatElement(0, count: sequence + 1 - state.counts.count))
            }
            copies = Int(state.counts[sequence])
            state.counts[sequence] = state.counts[sequence] == .max ? .max : state.counts[sequence] + 1
        } else {
            copies = state.far[sequence, default: 0]
            state.far[sequence] = copies + 1
        }
        if copies > 0 {
            state.duplicated += 1
        } else {
            if sequence < state.highest { state.outOfOrder += 1 }
            state.highest = max(state.highest, sequence)
            if let observedNanos { latencies.append(observedNanos - marker.sentNanos) }
        }
        streams[key] = state
    }

    /// Every stream's findings against the records acknowledged per stream (numbers `0..<count`), sorted by key:
    /// the streams of `expected` and those seen; at most `rangeLimit` missing ranges each.
    func reports(expected: [String: Int], rangeLimit: Int = 5) -> [StreamReport] {
        Set(streams.keys).union(expected.keys).sorted().map { key in
            let state = streams[key] ?? StreamState()
            let expected = expected[key] ?? 0
            var missing = 0
            var ranges: [ClosedRange<Int>] = []
            var runStart: Int?
            for sequence in 0...expected {
                let absent = sequence < expected && (sequence >= state.counts.count || state.counts[sequence] == 0)
                if absent {
                    missing += 1
                    if runStart == nil { runStart = sequence }
                } else if let start = runStart {
                    if ranges.count < rangeLimit { ranges.append(start...(sequence - 1)) }
                    runStart = nil
                }
            }
            let unacknowledged = state.counts.dropFirst(expected).reduce(0) { $0 + ($1 > 0 ? 1 : 0) } + state.far.count
            return StreamReport(key: key, expected: expected, received: state.received, missing: missing,
                                missingRanges: ranges, duplicated: state.duplicated, outOfOrder: state.outOfOrder,
                                unacknowledged: unacknowledged)
        }
    }

    /// The `p`-th percentile (0...100) of the observed latencies, nearest rank; nil when none were observed.
    func latencyPercentile(_ p: Double) -> Int64? {
        guard !latencies.isEmpty else { return nil }
        let sorted = latencies.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(sorted.count - 1, max(0, rank))]
    }
}
