import Synchronization

/// What one family's requests met, filled by the request threads.
struct HostileTally: Sendable {
    /// How many of the first failures of each kind are kept to print.
    static let examplesKept = 5

    var tried = 0
    var statusCounts: [Int: Int] = [:]
    var transportErrors = 0
    var transportExamples: [String] = []
    /// 5xx answers to a client's mistake (not 503 with Retry-After, not 504 to a query).
    var serverErrors = 0
    var serverErrorExamples: [String] = []
    /// Requests with no answer within the client timeout.
    var hangs = 0
    var hangExamples: [String] = []
    /// Per process that was found dead: when, and what was in flight then.
    var crashes: [String: String] = [:]
    var inFlight: [Int: String] = [:]

    /// Whether an answer of `status` is acceptable to a client's mistake.
    static func isAcceptable(status: Int, retryAfter: String?, isQuery: Bool) -> Bool {
        if status < 500 { return true }
        if status == 503 && retryAfter != nil { return true }
        if status == 504 && isQuery { return true }
        return false
    }

    mutating func record(index: Int, request: HostileRequest, outcome: RawHTTPClient.Outcome) {
        tried += 1
        let label = "#\(index) \(request.description)"
        switch outcome {
        case .response(let response):
            statusCounts[response.status, default: 0] += 1
            if !Self.isAcceptable(status: response.status, retryAfter: response.headers["retry-after"],
                                  isQuery: request.isQuery) {
                serverErrors += 1
                if serverErrorExamples.count < Self.examplesKept {
                    serverErrorExamples.append("\(label)\n      -> HTTP \(response.status): "
                        + String(decoding: response.bodyPrefix.prefix(200), as: UTF8.self))
                }
            }
        case .timedOut(let phase):
            hangs += 1
            if hangExamples.count < Self.examplesKept { hangExamples.append("\(label)\n      -> no answer: \(phase)") }
        case .transportError(let message):
            transportErrors += 1
            if transportExamples.count < 3 { transportExamples.append("\(label)\n      -> \(message)") }
        }
    }

    /// Statuses as `204=40 400=100`.
    var statusText: String {
        statusCounts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
}

/// The tally behind a lock, and the flag that stops a family once a process died.
final class SharedHostileTally: Sendable {
    let state = Mutex(HostileTally())
    let stop = Mutex(false)
}
