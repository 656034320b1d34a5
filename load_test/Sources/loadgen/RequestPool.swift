/// One worker's pool of pre-built requests of a ``LoadMode``. The lines are generated once, before the clock starts,
/// into one arena, and the mode builds its templates from them; sending a request only stamps fresh timestamps and
/// the next groups' names into a template and encodes it, so records are always near "now" (never rejected as too
/// old) and no line is built while measuring.
struct RequestPool<Mode: LoadMode>: Sendable {
    let mode: Mode
    /// The pre-built requests; every one carries `recordsPerRequest` records.
    private var templates: [Mode.Request]
    /// Where each line of the pool ends in the arena it was built in: template `t` holds lines
    /// `t * recordsPerRequest ..< (t + 1) * recordsPerRequest`, in group order.
    private let lineEnds: [Int]
    /// Which lines contain `needle`.
    private let needleFlags: [Bool]
    /// How many lines of each template contain `needle`.
    private let needleCounts: [Int]
    /// Groups in every request: `min(mode.groupCount, recordsPerRequest)`.
    private let groupsPerRequest: Int
    private var nextTemplate = 0
    private var nextGroup: Int
    /// Writes the verify markers' digits into encoded bodies.
    private let stamper: MarkerStamper
    /// This worker's sequence numbers per group.
    private(set) var ledger: SequenceLedger
    let worker: Int

    /// Records in every request.
    let recordsPerRequest: Int
    /// Line bytes in all templates together, and records in them: their mean line size is what the pool sends.
    var poolLineBytes: Int { lineEnds.last ?? 0 }
    var poolRecords: Int { templates.count * recordsPerRequest }

    /// Builds `templateCount` requests of `recordsPerRequest` records for worker `worker` (which seeds the lines,
    /// so workers send different ones), spread evenly over `min(mode.groupCount, recordsPerRequest)` groups per
    /// request. Lines are `lineBytes` long, or, with `lineSizes`, of sizes drawn from it (seeded by `sizeSeed` and
    /// the worker). Line `i` of all workers' pools contains `needle` when
    /// `needleEvery > 0 && i % needleEvery == needleEvery / 2`. Every line ends with a ``RecordMarker`` of `runID`
    /// (so a line is at least ``RecordMarker/byteCount`` bytes), followed in JSON lines by the closing `"}`.
    init(
        mode: Mode, worker: Int, templateCount: Int, recordsPerRequest: Int, lineBytes: Int, needleEvery: Int = 0,
        startMillis: Int64, runID: String = "00000000", lineSizes: LineSizeDistribution? = nil, sizeSeed: UInt64 = 1,
        lineFormat: LineFormat = .logfmt
    ) {
        let distribution = lineSizes ?? .fixed(lineBytes)
        if case .fixed(let bytes) = distribution {
            precondition(bytes >= RecordMarker.byteCount, "--line-bytes is checked to hold the marker")
        }
        let templateCount = max(1, templateCount)
        let placeholder = RecordMarker.placeholder(runID: runID)
        let suffix = lineFormat.suffix
        var generator = LineGenerator(lineBytes: lineBytes - placeholder.count - suffix.count,
                                      seed: UInt64(worker) &* 0x1234_5678_9ABC &+ 1, startMillis: startMillis,
                                      format: lineFormat)
        var sizes = LineSizeSampler(distribution, seed: LineSizeSampler.seed(sizeSeed, worker: worker))
        let lineCount = templateCount * recordsPerRequest
        var arena: [UInt8] = []
        var lineEnds: [Int] = []
        lineEnds.reserveCapacity(lineCount)
        var needleFlags: [Bool] = []
        needleFlags.reserveCapacity(lineCount)
        let firstLineIndex = worker * lineCount
        for index in 0..<lineCount {
            let lineIndex = firstLineIndex + index
            let needle = needleEvery > 0 && lineIndex % needleEvery == needleEvery / 2
            generator.appendLine(to: &arena, needle: needle, bytes: sizes.next() - placeholder.count - suffix.count)
            arena.append(contentsOf: placeholder)
            arena.append(contentsOf: suffix)
            lineEnds.append(arena.count)
            needleFlags.append(needle)
        }
        let groupsPerRequest = max(1, min(mode.groupCount, recordsPerRequest))
        var lines: [[[ArraySlice<UInt8>]]] = []
        var needleCounts: [Int] = []
        var line = 0
        for _ in 0..<templateCount {
            var groups: [[ArraySlice<UInt8>]] = []
            groups.reserveCapacity(groupsPerRequest)
            var needles = 0
            for group in 0..<groupsPerRequest {
                // Spread the remainder over the first groups so every request has exactly recordsPerRequest.
                let count = recordsPerRequest / groupsPerRequest + (group < recordsPerRequest % groupsPerRequest ? 1 : 0)
                groups.append((line..<(line + count)).map { arena[(($0 == 0 ? 0 : lineEnds[$0 - 1]))..<lineEnds[$0]] })
                needles += needleFlags[line..<(line + count)].filter { $0 }.count
                line += count
            }
            lines.append(groups)
            needleCounts.append(needles)
        }
        self.mode = mode
        self.templates = mode.makeTemplates(lines, worker: worker)
        self.lineEnds = lineEnds
        self.needleFlags = needleFlags
        self.needleCounts = needleCounts
        self.recordsPerRequest = recordsPerRequest
        self.groupsPerRequest = groupsPerRequest
        self.nextGroup = (worker * groupsPerRequest) % mode.groupCount
        self.stamper = MarkerStamper(runID: runID)
        self.ledger = SequenceLedger(worker: worker, streams: mode.groupCount)
        self.worker = worker
    }

    /// Takes the next template, stamps it (``LoadMode/stamp(_:nowNanos:firstGroup:)``: record `j` of a group gets
    /// `nowNanos + j`, so a group's records are in order within and across this worker's requests; the next groups'
    /// names), and passes it to `body`. Returns how many of its lines contain `needle`.
    mutating func withNextRequest<Result>(
        nowNanos: Int64, _ body: (Mode.Request) throws -> Result
    ) rethrows -> (result: Result, needleRecords: Int) {
        let index = stampNext(nowNanos: nowNanos)
        return (try body(templates[index]), needleCounts[index])
    }

    /// One serialized request, stamped.
    struct Encoded {
        /// The request as ``LoadMode/serialize(_:)`` wrote it, markers stamped, before compression.
        var bytes: [UInt8]
        var reservation: SequenceReservation
        /// Records in it, their line bytes, and how many contain `needle`.
        var records: Int
        var lineBytes: Int
        var needleRecords: Int
    }

    /// Stamps the next template like ``withNextRequest(nowNanos:_:)``, serializes it with the mode, takes the next
    /// sequence numbers of each of its groups for its records and writes them, with `nowNanos` as the send time,
    /// into the markers of the serialized bytes. With `records` below ``recordsPerRequest`` (the last request of a
    /// `--count` run) only the template's first `records` records go out.
    mutating func encodeNextRequest(nowNanos: Int64, records limit: Int? = nil) -> Encoded {
        let firstGroup = nextGroup
        let index = stampNext(nowNanos: nowNanos)
        var request = templates[index]
        var records = recordsPerRequest
        if let limit, limit < recordsPerRequest {
            // Only once a run: a trimmed copy of the template.
            request = mode.trimmed(request, to: limit)
            records = max(0, limit)
        }
        let first = index * recordsPerRequest
        let start = first == 0 ? 0 : lineEnds[first - 1]
        let lineBytes = records == 0 ? 0 : lineEnds[first + records - 1] - start
        let needles = records == recordsPerRequest ? needleCounts[index]
            : needleFlags[first..<(first + records)].filter { $0 }.count
        var bytes = mode.serialize(request)
        var reservation = SequenceReservation()
        let counts = mode.recordCounts(request)
        reservation.slots.reserveCapacity(counts.count)
        for (slot, count) in counts.enumerated() {
            reservation.slots.append(ledger.take(stream: (firstGroup + slot) % mode.groupCount, count: count))
        }
        stamper.stamp(&bytes, worker: worker, sentNanos: nowNanos, slots: reservation.slots)
        return Encoded(bytes: bytes, reservation: reservation, records: counts.reduce(0, +), lineBytes: lineBytes,
                       needleRecords: needles)
    }

    /// Gives back the sequence numbers of a request that failed for good (see ``SequenceLedger``).
    mutating func release(_ reservation: SequenceReservation) { ledger.release(reservation) }

    /// Counts an acknowledged request's sequence numbers.
    mutating func acknowledge(_ reservation: SequenceReservation) { ledger.acknowledge(reservation) }

    private mutating func stampNext(nowNanos: Int64) -> Int {
        let index = nextTemplate
        nextTemplate = (nextTemplate + 1) % templates.count
        mode.stamp(&templates[index], nowNanos: nowNanos, firstGroup: nextGroup)
        nextGroup = (nextGroup + groupsPerRequest) % mode.groupCount
        return index
    }
}
