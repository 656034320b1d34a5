import AsyncHTTPClient
import Foundation
import Glibc
import Logging
import NIOCore
import Synchronization
import Wire

/// Where a container's log goes on from: the newest entry sent on and how many entries sent on had exactly its
/// timestamp (several lines can share one).
struct KubernetesLogResume: Sendable, Equatable {
    var timestamp: Int64
    var entriesAtTimestamp: Int
}

/// Decides which lines of one log request are new. The API starts at `sinceTime`, a whole second at or before the
/// resume point, so it repeats lines: as Alloy does, a line older than the newest one sent is skipped, and of the
/// lines with exactly the resume point's timestamp the first `entriesAtTimestamp` (already sent) are skipped.
struct KubernetesLogResumeFilter: Sendable {
    private let resumeTime: Int64?
    private var replayed: Int
    /// The resume point after the lines admitted so far.
    private(set) var resume: KubernetesLogResume?

    init(_ start: KubernetesLogResume?) {
        resumeTime = start?.timestamp
        replayed = start?.entriesAtTimestamp ?? 0
        resume = start
    }

    /// Whether a line with `timestamp` is new; if it is, it is counted as sent.
    mutating func admit(_ timestamp: Int64) -> Bool {
        if let resume, timestamp < resume.timestamp { return false }
        if replayed > 0, timestamp == resumeTime {
            replayed -= 1
            return false
        }
        if let current = resume, current.timestamp == timestamp {
            resume = KubernetesLogResume(timestamp: timestamp, entriesAtTimestamp: current.entriesAtTimestamp + 1)
        } else {
            resume = KubernetesLogResume(timestamp: timestamp, entriesAtTimestamp: 1)
        }
        return true
    }
}

/// What one tail has sent, shared between its task (which sends) and the component's loop (which records
/// delivered positions).
final class KubernetesLogProgress: Sendable {
    private struct State {
        var inFlight = AcknowledgedPositions<KubernetesLogResume>()
        /// The newest entry handed to `forward_to` (delivered or not yet); the next request goes on from it.
        var sent: KubernetesLogResume?
    }

    private let state: Mutex<State>

    init(start: KubernetesLogResume?) {
        state = Mutex(State(sent: start))
    }

    var resume: KubernetesLogResume? { state.withLock { $0.sent } }
    /// Batches handed on and not yet acknowledged.
    var pending: Int { state.withLock { $0.inFlight.pending } }

    func acknowledgement(for resume: KubernetesLogResume, wake: @escaping @Sendable () -> Void) -> DeliveryAck {
        state.withLock { $0.inFlight.acknowledgement(for: resume, wake: wake) }
    }

    /// The batch of the last acknowledgement was handed on: later requests go on after it.
    func sent(_ resume: KubernetesLogResume) {
        state.withLock { $0.sent = resume }
    }

    func abandonLast() {
        state.withLock { $0.inFlight.abandonLast() }
    }

    /// The newest position whose batch, and every batch before it, was delivered (nil when none became final).
    func takeDelivered() -> KubernetesLogResume? {
        state.withLock { $0.inFlight.takeAcknowledged().last }
    }
}

/// Follows one container's log through the API server until cancelled: `GET
/// /api/v1/namespaces/{ns}/pods/{pod}/log?container=…&follow=true&timestamps=true[&sinceTime=…]`, one entry per line
/// with the kubelet's timestamp, sent on a batch per chunk the server writes. When the stream ends or fails it
/// asks again from the newest entry sent, after a backoff that starts at 10 ms, doubles up to a minute, and starts
/// over once a request brought new lines (as Alloy's `retailBackoff`). A stream is also reopened after
/// ``maxStreamLifetime`` (Alloy does this against API servers that stop sending on an open stream).
struct KubernetesLogTailer: Sendable {
    static let maxStreamLifetime: Duration = .seconds(3600)
    static let minimumBackoff: Duration = .milliseconds(10)
    static let maximumBackoff: Duration = .seconds(60)

    let target: KubernetesLogTarget
    let config: KubernetesClientConfig
    let client: HTTPClient
    let progress: KubernetesLogProgress
    let forwardTo: @Sendable () -> LogsReceivers
    /// Runs when a batch of this tail is acknowledged.
    let wake: @Sendable () -> Void
    let logger: Logger

    func run() async {
        var backoff = Self.minimumBackoff
        while !Task.isCancelled {
            let started = ContinuousClock.now
            let before = progress.resume
            do {
                try await follow()
            } catch {
                if Task.isCancelled { return }
                logger.warning("kubernetes log stream failed; will retry", metadata: [
                    "target": "\(target)", "error": "\(error)",
                ])
            }
            if progress.resume != before || ContinuousClock.now - started >= Self.maxStreamLifetime {
                backoff = Self.minimumBackoff
            }
            do {
                try await Task.sleep(for: backoff)  // not-a-wait: backoff before asking again
            } catch {
                return
            }
            backoff = min(backoff * 2, Self.maximumBackoff)
        }
    }

    /// The request's path and query.
    func path(from resume: KubernetesLogResume?) -> String {
        var path = "/api/v1/namespaces/\(Self.escape(target.namespace))/pods/\(Self.escape(target.pod))/log"
        path += "?container=\(Self.escape(target.container))&follow=true&timestamps=true"
        if let resume { path += "&sinceTime=" + Self.escape(KubernetesLogLines.sinceTime(resume.timestamp)) }
        return path
    }

    /// One request, until its stream ends or ``maxStreamLifetime`` passed.
    private func follow() async throws {
        var request = HTTPClientRequest(url: config.baseURL + path(from: progress.resume))
        var headers = try config.headers()
        headers.replaceOrAdd(name: "Accept", value: "*/*")
        request.headers = headers
        let response = try await client.execute(request, timeout: .seconds(60))
        guard response.status == .ok else {
            let body = try await response.body.collect(upTo: 65_536)
            throw KubernetesAPIError(
                description: "GET pods/\(target.pod)/log (container \(target.container)): \(response.status.code) \(String(buffer: body).prefix(300))")
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.read(response.body) }
            group.addTask { try await Task.sleep(for: Self.maxStreamLifetime) }  // not-a-wait: stream lifetime
            try await group.next()
            group.cancelAll()
        }
    }

    private func read(_ body: HTTPClientResponse.Body) async throws {
        var splitter = KubernetesLogLines()
        var lines: [KubernetesLogLines.Line] = []
        var filter = KubernetesLogResumeFilter(progress.resume)
        for try await chunk in body {
            splitter.feed(chunk.readableBytesView, into: &lines)
            guard !lines.isEmpty else { continue }
            var entries: [LogEntry] = []
            entries.reserveCapacity(lines.count)
            let now = Self.wallClock()
            for line in lines {
                // A line without a timestamp gets the read time and does not move the resume point.
                if let timestamp = line.timestamp, !filter.admit(timestamp) { continue }
                entries.append(LogEntry(timestamp: line.timestamp ?? now, line: line.text, labels: target.labels))
            }
            lines.removeAll(keepingCapacity: true)
            guard !entries.isEmpty else { continue }
            try await send(entries, reaching: filter.resume)
        }
    }

    /// Hands `entries` on (waiting out backpressure); `resume` becomes the position to keep once delivered.
    private func send(_ entries: [LogEntry], reaching resume: KubernetesLogResume?) async throws {
        guard let resume else {
            // Only lines without a timestamp so far: nothing to go on from, nothing to record.
            try await LogsReceivers.deliver(LogBatch(entries: entries), to: forwardTo, logger: logger)
            return
        }
        let ack = progress.acknowledgement(for: resume, wake: wake)
        do {
            try await LogsReceivers.deliver(LogBatch(entries: entries, ack: ack), to: forwardTo, logger: logger)
        } catch {
            // Stopped before the batch was taken: it was not delivered, the next request reads it again.
            progress.abandonLast()
            throw error
        }
        progress.sent(resume)
        ack.done()
    }

    static func wallClock() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
