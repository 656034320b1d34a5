import Histogram

/// What one OTLP worker (or, merged, the whole run) did and saw.
struct OTLPStats: Sendable {
    var requests = 0
    var recordsSent = 0
    /// Body bytes sent, whatever the answer: with ``recordsSent``, the mean body size produced.
    var lineBytesSent = 0
    /// Records in requests answered 2xx, less those the response's `partial_success` rejected.
    var recordsAccepted = 0
    /// Records a 2xx response rejected (`partial_success.rejected_log_records`).
    var recordsRejected = 0
    /// Body (log line) bytes of accepted requests, the figure behind raw MB/s.
    var lineBytesAccepted = 0
    /// Bytes sent on the wire (after gzip, when on).
    var bodyBytesSent = 0
    /// Encoded bytes of the requests sent, before gzip.
    var encodedBytes = 0
    var status2xx = 0
    /// Retryable refusals, counted apart from the other 4xx/5xx.
    var status429 = 0
    var status503 = 0
    /// 4xx other than 429, and 5xx other than 503.
    var status4xx = 0
    var status5xx = 0
    var statusOther = 0
    var transportErrors = 0
    /// 2xx answers whose body was not an `ExportLogsServiceResponse`.
    var responseDecodeErrors = 0
    /// Answers by exact status code.
    var statusCodes: [Int: Int] = [:]
    /// The first failure: status with the start of its body, a transport error, or an undecodable response.
    var firstError: String?
    /// Request latency, send to last response byte, in microseconds.
    var latencyMicros = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000,
                                          numberOfSignificantValueDigits: .three)
    var bodiesEncoded = 0
    /// Time spent stamping, encoding and compressing bodies, summed over workers.
    var encodeNanos: Int64 = 0
    /// Waits after 429/503 (honouring `Retry-After`), summed over workers.
    var backoffs = 0
    var backoffNanos: Int64 = 0
    /// Requests sent again, unchanged, after a retryable refusal.
    var retries = 0
    /// Records acknowledged per stream (``RecordMarker/streamKey``), numbered `0..<count`.
    var acknowledgedSequences: [String: Int] = [:]
    /// Waits for the rate limiter, summed over workers.
    var pacingNanos: Int64 = 0
    /// Smallest and largest record timestamp sent (Unix ns), whatever the answer: the range a query must cover.
    var firstTimestamp = Int64.max
    var lastTimestamp = Int64.min

    mutating func merge(_ other: OTLPStats) {
        requests += other.requests
        recordsSent += other.recordsSent
        lineBytesSent += other.lineBytesSent
        recordsAccepted += other.recordsAccepted
        recordsRejected += other.recordsRejected
        lineBytesAccepted += other.lineBytesAccepted
        bodyBytesSent += other.bodyBytesSent
        encodedBytes += other.encodedBytes
        status2xx += other.status2xx
        status429 += other.status429
        status503 += other.status503
        status4xx += other.status4xx
        status5xx += other.status5xx
        statusOther += other.statusOther
        transportErrors += other.transportErrors
        responseDecodeErrors += other.responseDecodeErrors
        statusCodes.merge(other.statusCodes, uniquingKeysWith: +)
        if firstError == nil { firstError = other.firstError }
        latencyMicros.add(other.latencyMicros)
        bodiesEncoded += other.bodiesEncoded
        encodeNanos += other.encodeNanos
        backoffs += other.backoffs
        backoffNanos += other.backoffNanos
        retries += other.retries
        acknowledgedSequences.merge(other.acknowledgedSequences, uniquingKeysWith: +)
        pacingNanos += other.pacingNanos
        firstTimestamp = min(firstTimestamp, other.firstTimestamp)
        lastTimestamp = max(lastTimestamp, other.lastTimestamp)
    }

    /// Records the answer to one request of `records` records.
    mutating func record(_ outcome: OTLPSendOutcome, records: Int, lineBytes: Int, bodyBytes: Int,
                         firstTimestamp: Int64, lastTimestamp: Int64) {
        requests += 1
        recordsSent += records
        lineBytesSent += lineBytes
        bodyBytesSent += bodyBytes
        self.firstTimestamp = min(self.firstTimestamp, firstTimestamp)
        self.lastTimestamp = max(self.lastTimestamp, lastTimestamp)
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
            let rejected = min(records, max(0, outcome.rejectedRecords))
            recordsRejected += rejected
            recordsAccepted += records - rejected
            lineBytesAccepted += records > 0 ? lineBytes * (records - rejected) / records : 0
            if outcome.responseUndecodable {
                responseDecodeErrors += 1
                if firstError == nil { firstError = "HTTP \(status) with an unreadable body: \(outcome.message)" }
            } else if rejected > 0, firstError == nil {
                firstError = "HTTP \(status), partial success: \(rejected) rejected: \(outcome.message)"
            }
            return
        case 429: status429 += 1
        case 503: status503 += 1
        case 400..<500: status4xx += 1
        case 500..<600: status5xx += 1
        default: statusOther += 1
        }
        if firstError == nil { firstError = "HTTP \(status): \(outcome.message)" }
    }
}

/// The answer to one OTLP export request.
struct OTLPSendOutcome: Sendable {
    /// The HTTP status, or nil when the request failed before an answer (connection refused, timeout, ...).
    var status: Int?
    /// For a 2xx: the response's `partial_success.error_message`, or why it could not be read. Otherwise the start
    /// of the response body, or the transport error.
    var message: String = ""
    /// `partial_success.rejected_log_records` of a 2xx answer.
    var rejectedRecords = 0
    /// A 2xx answer whose body was not an `ExportLogsServiceResponse` in the request's encoding.
    var responseUndecodable = false
    /// The `Retry-After` of a 429 or 503, when given in seconds.
    var retryAfter: Duration?
    var latency: Duration

    /// Whether the OTLP/HTTP specification calls this answer retryable (429, 502, 503, 504).
    var isRetryable: Bool {
        guard let status else { return false }
        return status == 429 || status == 502 || status == 503 || status == 504
    }
}
