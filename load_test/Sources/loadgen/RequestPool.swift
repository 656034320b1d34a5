import Wire

/// One worker's pool of pre-built push requests. The lines are generated once, before the clock starts, into one
/// arena (entries are slices of it); sending a request only stamps fresh timestamps and stream labels into a template
/// and encodes it, so entries are always near "now" (never rejected as too old) and no line is built while measuring.
struct RequestPool: Sendable {
    /// The pre-built requests; every one carries `linesPerRequest` entries.
    private var templates: [PushRequest]
    /// How many lines of each template contain `needle`.
    private let needleCounts: [Int]
    /// Raw line bytes of each template (lines vary in size with a ``LineSizeDistribution``).
    private let templateLineBytes: [Int]
    /// Every stream's labels, `{job="gen", stream="N", service="svc-M"}`, shared by all workers.
    private let streamLabels: [String]
    private var nextTemplate = 0
    private var nextStream: Int
    /// Writes the verify markers' digits into encoded bodies.
    private let stamper: MarkerStamper
    /// This worker's sequence numbers per stream.
    private(set) var ledger: SequenceLedger
    let worker: Int

    /// Lines in every request.
    let linesPerRequest: Int
    /// Raw line bytes in all templates together, and lines in them: their mean line size is what the pool sends.
    let poolLineBytes: Int
    var poolLines: Int { templates.count * linesPerRequest }

    /// Builds `templateCount` requests of `linesPerRequest` lines, spread evenly over
    /// `min(streamLabels.count, linesPerRequest)` streams per request. Lines are `lineBytes` long, or, with
    /// `lineSizes`, of sizes drawn from it (seeded by `sizeSeed` and the worker). Line `i` of the pool (counting
    /// from `firstLineIndex`) contains `needle` when `needleEvery > 0 && i % needleEvery == needleEvery / 2`. Every
    /// line ends with a ``RecordMarker`` of `runID` (so a line is at least ``RecordMarker/byteCount`` bytes).
    init(
        worker: Int, templateCount: Int, linesPerRequest: Int, lineBytes: Int, streamLabels: [String],
        needleEvery: Int, startMillis: Int64, runID: String = "00000000", lineSizes: LineSizeDistribution? = nil,
        sizeSeed: UInt64 = 1
    ) {
        let distribution = lineSizes ?? .fixed(lineBytes)
        if case .fixed(let bytes) = distribution {
            precondition(bytes >= RecordMarker.byteCount, "--line-bytes is checked to hold the marker")
        }
        let placeholder = RecordMarker.placeholder(runID: runID)
        var generator = LineGenerator(lineBytes: lineBytes - placeholder.count,
                                      seed: UInt64(worker) &* 0x1234_5678_9ABC + 1, startMillis: startMillis)
        var sizes = LineSizeSampler(distribution, seed: LineSizeSampler.seed(sizeSeed, worker: worker))
        let streamsPerRequest = max(1, min(streamLabels.count, linesPerRequest))
        let lineCount = templateCount * linesPerRequest
        var arena: [UInt8] = []
        var lineEnds: [Int] = []
        lineEnds.reserveCapacity(lineCount)
        var needleFlags: [Bool] = []
        needleFlags.reserveCapacity(lineCount)
        let firstLineIndex = worker * templateCount * linesPerRequest
        for index in 0..<lineCount {
            let lineIndex = firstLineIndex + index
            let needle = needleEvery > 0 && lineIndex % needleEvery == needleEvery / 2
            generator.appendLine(to: &arena, needle: needle, bytes: sizes.next() - placeholder.count)
            arena.append(contentsOf: placeholder)
            lineEnds.append(arena.count)
            needleFlags.append(needle)
        }
        var templates: [PushRequest] = []
        var needleCounts: [Int] = []
        var templateLineBytes: [Int] = []
        var lineNumber = 0
        for _ in 0..<templateCount {
            var request = PushRequest(streams: [])
            request.streams.reserveCapacity(streamsPerRequest)
            var needles = 0
            var bytes = 0
            for stream in 0..<streamsPerRequest {
                // Spread the remainder over the first streams so every request has exactly linesPerRequest lines.
                let count = linesPerRequest / streamsPerRequest + (stream < linesPerRequest % streamsPerRequest ? 1 : 0)
                var entries: [PushEntry] = []
                entries.reserveCapacity(count)
                for _ in 0..<count {
                    let start = lineNumber == 0 ? 0 : lineEnds[lineNumber - 1]
                    entries.append(PushEntry(timestamp: 0, line: arena[start..<lineEnds[lineNumber]]))
                    bytes += lineEnds[lineNumber] - start
                    if needleFlags[lineNumber] { needles += 1 }
                    lineNumber += 1
                }
                request.streams.append(PushStream(labels: "", entries: entries))
            }
            templates.append(request)
            needleCounts.append(needles)
            templateLineBytes.append(bytes)
        }
        self.templates = templates
        self.needleCounts = needleCounts
        self.templateLineBytes = templateLineBytes
        self.poolLineBytes = arena.count
        self.streamLabels = streamLabels
        self.linesPerRequest = linesPerRequest
        self.nextStream = (worker * streamsPerRequest) % max(1, streamLabels.count)
        self.stamper = MarkerStamper(runID: runID)
        self.ledger = SequenceLedger(worker: worker, streams: streamLabels.count)
        self.worker = worker
    }

    /// The labels of `count` streams: `{job="gen", stream="N", service="svc-M"}`.
    static func makeStreamLabels(count: Int) -> [String] {
        (0..<max(1, count)).map { "{job=\"gen\", stream=\"\($0)\", service=\"svc-\($0 % 8)\"}" }
    }

    /// Takes the next template, stamps timestamps from `nowNanos` (entry `j` of a stream gets `nowNanos + j`, so a
    /// stream's entries are in order within and across this worker's requests) and the next streams' labels, and
    /// passes it to `body`. Returns how many of its lines contain `needle`.
    mutating func withNextRequest<Result>(
        nowNanos: Int64, _ body: (PushRequest) throws -> Result
    ) rethrows -> (result: Result, needleLines: Int) {
        let index = stampNext(nowNanos: nowNanos)
        return (try body(templates[index]), needleCounts[index])
    }

    /// One serialized request, stamped.
    struct Serialized {
        var bytes: [UInt8]
        var needleLines: Int
        var reservation: SequenceReservation
        /// Lines in it and their raw bytes.
        var lines: Int
        var lineBytes: Int
    }

    /// Stamps the next template like ``withNextRequest(nowNanos:_:)``, serializes it with `serialize` (which must
    /// copy lines verbatim: ``BodyEncoding/serialize(_:)``), takes the next sequence number of each of its streams
    /// for its lines and writes them, with `nowNanos` as the send time, into the markers of the serialized bytes.
    /// With `lines` below ``linesPerRequest`` (the last request of a `--count` run) only the template's first
    /// `lines` entries go out.
    mutating func serializeNextRequest(
        nowNanos: Int64, lines: Int? = nil, _ serialize: (PushRequest) -> [UInt8]
    ) -> Serialized {
        let firstStream = nextStream
        let index = stampNext(nowNanos: nowNanos)
        var request = templates[index]
        var needles = needleCounts[index]
        var lineBytes = templateLineBytes[index]
        if let lines, lines < linesPerRequest {
            // Only once a run: a trimmed copy of the template.
            request = Self.trimmed(request, to: lines)
            let entries = request.streams.flatMap(\.entries)
            lineBytes = entries.reduce(0) { $0 + $1.line.count }
            needles = entries.filter { Self.containsNeedle($0.line) }.count
        }
        var bytes = serialize(request)
        var reservation = SequenceReservation()
        reservation.slots.reserveCapacity(request.streams.count)
        for (slot, stream) in request.streams.enumerated() {
            let label = (firstStream + slot) % streamLabels.count
            reservation.slots.append(ledger.take(stream: label, count: stream.entries.count))
        }
        stamper.stamp(&bytes, worker: worker, sentNanos: nowNanos, slots: reservation.slots)
        let lineCount = reservation.slots.reduce(0) { $0 + $1.count }
        return Serialized(bytes: bytes, needleLines: needles, reservation: reservation, lines: lineCount,
                          lineBytes: lineBytes)
    }

    /// `request` with only its first `lines` entries (streams left empty are dropped).
    static func trimmed(_ request: PushRequest, to lines: Int) -> PushRequest {
        var left = max(0, lines)
        var out = PushRequest(streams: [])
        for stream in request.streams where left > 0 {
            let kept = Array(stream.entries.prefix(left))
            left -= kept.count
            out.streams.append(PushStream(labels: stream.labels, entries: kept))
        }
        return out
    }

    private static func containsNeedle(_ line: ArraySlice<UInt8>) -> Bool {
        let needle = Array("needle".utf8)
        guard line.count >= needle.count else { return false }
        var index = line.startIndex
        while index <= line.endIndex - needle.count {
            if line[index..<(index + needle.count)].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }

    /// Gives back the sequence numbers of a request that failed for good (see ``SequenceLedger``).
    mutating func release(_ reservation: SequenceReservation) { ledger.release(reservation) }

    /// Counts an acknowledged request's sequence numbers.
    mutating func acknowledge(_ reservation: SequenceReservation) { ledger.acknowledge(reservation) }

    private mutating func stampNext(nowNanos: Int64) -> Int {
        let index = nextTemplate
        nextTemplate = (nextTemplate + 1) % templates.count
        let labelCount = streamLabels.count
        for stream in templates[index].streams.indices {
            templates[index].streams[stream].labels = streamLabels[(nextStream + stream) % labelCount]
            for entry in templates[index].streams[stream].entries.indices {
                templates[index].streams[stream].entries[entry].timestamp = nowNanos &+ Int64(entry)
            }
        }
        nextStream = (nextStream + templates[index].streams.count) % labelCount
        return index
    }
}
