import Histogram
import Wire

/// What one worker (or, merged, the whole run) did and saw, whatever the ``LoadMode``.
struct LoadStats: Sendable {
    var requests = 0
    var recordsSent = 0
    /// Raw line bytes sent, whatever the answer: with ``recordsSent``, the mean line size produced.
    var lineBytesSent = 0
    /// Records in requests answered 2xx, less those the answer rejected (OTLP's `partial_success`).
    var recordsAccepted = 0
    /// Records a 2xx answer rejected (`partial_success.rejected_log_records`).
    var recordsRejected = 0
    /// Raw line bytes of the accepted records (the figure behind raw MB/s).
    var lineBytesAccepted = 0
    /// Lines with `needle` in requests answered 2xx.
    var needleRecordsAccepted = 0
    /// Bytes sent on the wire (after snappy or gzip).
    var bodyBytesSent = 0
    /// Bytes of the requests sent before compression.
    var encodedBytes = 0
    var transportErrors = 0
    /// 2xx answers whose body could not be read (OTLP: not an `ExportLogsServiceResponse`).
    var responseDecodeErrors = 0
    /// Answers by exact status code.
    var statusCodes: [Int: Int] = [:]
    /// The first failure: status with the start of its body, a transport error, or an unreadable 2xx answer.
    var firstError: String?
    /// Request latency, send to last response byte, in microseconds.
    var latencyMicros = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000,
                                          numberOfSignificantValueDigits: .three)
    var bodiesEncoded = 0
    /// Time spent stamping, encoding and compressing bodies, summed over workers (divide by wall time for cores).
    var encodeNanos: Int64 = 0
    /// Waits after a retryable refusal (honouring `Retry-After`), summed over workers.
    var backoffs = 0
    var backoffNanos: Int64 = 0
    /// Requests sent again, unchanged, after a retryable refusal.
    var retries = 0
    /// Waits for the rate limiter, summed over workers.
    var pacingNanos: Int64 = 0
    /// Records acknowledged per stream (``RecordMarker/streamKey``), numbered `0..<count`.
    var acknowledgedSequences: [String: Int] = [:]
    /// Smallest and largest record timestamp sent (Unix ns), whatever the answer: the range a query must cover.
    var firstTimestampSent = Int64.max
    var lastTimestampSent = Int64.min
    /// Smallest and largest record timestamp of requests answered 2xx, for the query that follows a fill.
    var firstTimestampAccepted = Int64.max
    var lastTimestampAccepted = Int64.min

    /// Answers with a status in `range`.
    func answers(_ range: Range<Int>) -> Int {
        statusCodes.reduce(0) { range.contains($1.key) ? $0 + $1.value : $0 }
    }

    /// Answers with exactly `status`.
    func answers(_ status: Int) -> Int { statusCodes[status, default: 0] }

    var status2xx: Int { answers(200..<300) }
    var status4xx: Int { answers(400..<500) }
    var status5xx: Int { answers(500..<600) }
    /// 1xx and 3xx answers, which a sender should never get.
    var statusOther: Int { requests - transportErrors - status2xx - status4xx - status5xx }

    mutating func merge(_ other: LoadStats) {
        requests += other.requests
        recordsSent += other.recordsSent
        lineBytesSent += other.lineBytesSent
        recordsAccepted += other.recordsAccepted
        recordsRejected += other.recordsRejected
        lineBytesAccepted += other.lineBytesAccepted
        needleRecordsAccepted += other.needleRecordsAccepted
        bodyBytesSent += other.bodyBytesSent
        encodedBytes += other.encodedBytes
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
        pacingNanos += other.pacingNanos
        acknowledgedSequences.merge(other.acknowledgedSequences, uniquingKeysWith: +)
        firstTimestampSent = min(firstTimestampSent, other.firstTimestampSent)
        lastTimestampSent = max(lastTimestampSent, other.lastTimestampSent)
        firstTimestampAccepted = min(firstTimestampAccepted, other.firstTimestampAccepted)
        lastTimestampAccepted = max(lastTimestampAccepted, other.lastTimestampAccepted)
    }

    /// Records the answer to one request of `records` records.
    mutating func record(
        _ outcome: SendOutcome, records: Int, lineBytes: Int, needleRecords: Int = 0, bodyBytes: Int,
        encodedBytes: Int = 0, firstTimestamp: Int64, lastTimestamp: Int64
    ) {
        requests += 1
        recordsSent += records
        lineBytesSent += lineBytes
        bodyBytesSent += bodyBytes
        self.encodedBytes += encodedBytes
        firstTimestampSent = min(firstTimestampSent, firstTimestamp)
        lastTimestampSent = max(lastTimestampSent, lastTimestamp)
        latencyMicros.record(UInt64(max(1, outcome.latency.nanoseconds / 1000)))
        guard let status = outcome.status else {
            transportErrors += 1
            if firstError == nil { firstError = "transport error: \(outcome.message)" }
            return
        }
        statusCodes[status, default: 0] += 1
        guard (200..<300).contains(status) else {
            if firstError == nil { firstError = "HTTP \(status): \(outcome.message)" }
            return
        }
        let rejected = min(records, max(0, outcome.rejectedRecords))
        recordsRejected += rejected
        recordsAccepted += records - rejected
        lineBytesAccepted += records > 0 ? lineBytes * (records - rejected) / records : 0
        needleRecordsAccepted += needleRecords
        firstTimestampAccepted = min(firstTimestampAccepted, firstTimestamp)
        lastTimestampAccepted = max(lastTimestampAccepted, lastTimestamp)
        if outcome.responseUndecodable {
            responseDecodeErrors += 1
            if firstError == nil { firstError = "HTTP \(status) with an unreadable body: \(outcome.message)" }
        } else if rejected > 0, firstError == nil {
            firstError = "HTTP \(status), partial success: \(rejected) rejected: \(outcome.message)"
        }
    }
}

/// The answer to one request.
struct SendOutcome: Sendable {
    /// The HTTP status, or nil when the request failed before an answer (connection refused, timeout, ...).
    var status: Int?
    /// For a 2xx: what the mode read from the answer (OTLP: `partial_success.error_message`, or why it could not be
    /// read). Otherwise the start of the response body, or the transport error.
    var message: String = ""
    /// Records a 2xx answer rejected (OTLP: `partial_success.rejected_log_records`).
    var rejectedRecords = 0
    /// A 2xx answer whose body the mode could not read.
    var responseUndecodable = false
    /// The `Retry-After` of a refusal, when given in seconds.
    var retryAfter: Duration?
    var latency: Duration

    /// Whether the answer is 2xx.
    var isAccepted: Bool { status.map { (200..<300).contains($0) } ?? false }

    /// Whether the OTLP/HTTP specification calls this answer retryable (429, 502, 503, 504).
    var isRetryable: Bool {
        guard let status else { return false }
        return status == 429 || status == 502 || status == 503 || status == 504
    }

    /// The words of an error answer: a protobuf `google.rpc.Status` as `code 14: message`, anything else as text.
    static func errorText(_ body: [UInt8], contentType: String?) -> String {
        let type = contentType?.lowercased() ?? ""
        if type.hasPrefix("application/x-protobuf") || type.hasPrefix("application/protobuf"),
           let status = RPCStatus(protobuf: body) {
            return "code \(status.code): \(status.message)"
        }
        return String(decoding: body, as: UTF8.self)
    }
}
