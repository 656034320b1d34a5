import Histogram

/// What one push worker (or, merged, the whole run) did and saw.
struct PushStats: Sendable {
    var requests = 0
    var linesSent = 0
    /// Raw line bytes sent, whatever the answer: with ``linesSent``, the mean line size produced.
    var lineBytesSent = 0
    /// Lines in requests answered 2xx.
    var linesAccepted = 0
    /// Raw line bytes in requests answered 2xx (the figure behind MB/s).
    var lineBytesAccepted = 0
    var needleLinesAccepted = 0
    /// Encoded body bytes sent (after snappy for protobuf).
    var bodyBytesSent = 0
    var status2xx = 0
    var status4xx = 0
    var status5xx = 0
    /// 1xx and 3xx answers, which a push should never get.
    var statusOther = 0
    var transportErrors = 0
    /// Answers by exact status code.
    var statusCodes: [Int: Int] = [:]
    /// The first failure (non-2xx status with the start of its body, or a transport error).
    var firstError: String?
    /// Request latency, send to last response byte, in microseconds.
    var latencyMicros = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000,
                                          numberOfSignificantValueDigits: .three)
    var bodiesEncoded = 0
    /// Time spent stamping and encoding bodies, summed over workers (divide by wall time for cores).
    var encodeNanos: Int64 = 0
    /// Smallest and largest entry timestamp accepted (Unix ns), for the query that follows a fill.
    var firstTimestamp = Int64.max
    var lastTimestamp = Int64.min
    /// Smallest and largest entry timestamp sent, whatever the answer: the range `verify` reads.
    var firstTimestampSent = Int64.max
    var lastTimestampSent = Int64.min
    /// Records acknowledged per stream (``RecordMarker/streamKey``), numbered `0..<count`.
    var acknowledgedSequences: [String: Int] = [:]

    mutating func merge(_ other: PushStats) {
        requests += other.requests
        linesSent += other.linesSent
        lineBytesSent += other.lineBytesSent
        linesAccepted += other.linesAccepted
        lineBytesAccepted += other.lineBytesAccepted
        needleLinesAccepted += other.needleLinesAccepted
        bodyBytesSent += other.bodyBytesSent
        status2xx += other.status2xx
        status4xx += other.status4xx
        status5xx += other.status5xx
        statusOther += other.statusOther
        transportErrors += other.transportErrors
        statusCodes.merge(other.statusCodes, uniquingKeysWith: +)
        if firstError == nil { firstError = other.firstError }
        latencyMicros.add(other.latencyMicros)
        bodiesEncoded += other.bodiesEncoded
        encodeNanos += other.encodeNanos
        firstTimestamp = min(firstTimestamp, other.firstTimestamp)
        lastTimestamp = max(lastTimestamp, other.lastTimestamp)
        firstTimestampSent = min(firstTimestampSent, other.firstTimestampSent)
        lastTimestampSent = max(lastTimestampSent, other.lastTimestampSent)
        acknowledgedSequences.merge(other.acknowledgedSequences, uniquingKeysWith: +)
    }

    /// Widens the range of timestamps sent.
    mutating func noteSent(firstTimestamp: Int64, lastTimestamp: Int64) {
        firstTimestampSent = min(firstTimestampSent, firstTimestamp)
        lastTimestampSent = max(lastTimestampSent, lastTimestamp)
    }

    /// Records the answer to one request.
    mutating func record(_ outcome: SendOutcome, lines: Int, lineBytes: Int, needleLines: Int, bodyBytes: Int,
                         firstTimestamp: Int64, lastTimestamp: Int64) {
        requests += 1
        linesSent += lines
        lineBytesSent += lineBytes
        bodyBytesSent += bodyBytes
        latencyMicros.record(UInt64(max(1, outcome.latency.nanoseconds / 1000)))
        guard let status = outcome.status else {
            transportErrors += 1
            if firstError == nil { firstError = "transport error: \(outcome.message)" }
            return
        }
        statusCodes[status, default: 0] += 1
        switch status {
        case 200..<300:
            status2xx += 1
            linesAccepted += lines
            lineBytesAccepted += lineBytes
            needleLinesAccepted += needleLines
            self.firstTimestamp = min(self.firstTimestamp, firstTimestamp)
            self.lastTimestamp = max(self.lastTimestamp, lastTimestamp)
            return
        case 400..<500: status4xx += 1
        case 500..<600: status5xx += 1
        default: statusOther += 1
        }
        if firstError == nil { firstError = "HTTP \(status): \(outcome.message)" }
    }
}

/// The answer to one push request.
struct SendOutcome: Sendable {
    /// The HTTP status, or nil when the request failed before an answer (connection refused, timeout, ...).
    var status: Int?
    /// The start of the response body for a non-2xx status, or the transport error.
    var message: String
    var latency: Duration
}
