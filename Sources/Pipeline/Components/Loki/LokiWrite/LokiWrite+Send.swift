import AsyncHTTPClient
import Foundation
import NIOCore
import Wire

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension LokiWrite.Endpoint {
    /// What one push request came back with.
    struct PushOutcome: Sendable {
        /// The HTTP status, or nil when no response arrived (connection refused, timeout, reset).
        var status: Int?
        /// The server's `Retry-After`, when it sent one.
        var retryAfter: Duration?
        /// The first line of the response body, or the client error: for the log.
        var message: String

        var succeeded: Bool { status.map { (200..<300).contains($0) } ?? false }
    }

    /// Encodes `batch` (protobuf, snappy) and sends it, retrying 5xx, 429 (when `retry_on_http_429`) and failed
    /// connections with exponential backoff; counts it as sent or dropped. Cancellation (the drain deadline)
    /// drops it.
    func send(_ batch: LokiWrite.Outgoing) async {
        // Sent or dropped, the batch is finished with: its bytes are no longer held, and its sources may record
        // their positions, unless it was given up on only because the agent is stopping (then the sources read it
        // again after the restart).
        var abandoned = false
        defer {
            queue.release(batch.heldBytes)
            for ack in batch.acks { ack.done(lost: abandoned) }
        }
        let counters = metrics.tenant(batch.tenant)
        if Task.isCancelled {
            abandoned = true
            dropped(
                tenant: batch.tenant, reason: .drainTimeout, entries: batch.entryCount, bytes: batch.bytes,
                "drain_timeout ran out before it was sent")
            return
        }
        let buffer = ByteBuffer(bytes: batch.encode())
        let body = buffer.readableBytesView
        counters.encodedBytes.increment(by: Int64(body.count))
        counters.requestSize.record(Double(body.count))
        let policy = RetryBackoff.Policy.dskit(
            min: options.minBackoff, max: options.maxBackoff, maxAttempts: options.maxBackoffRetries)
        let outcome = await RetryingSend<PushOutcome>.run(policy) {
            let started = ContinuousClock.now
            let outcome = await post(buffer, tenant: batch.tenant)
            metrics.requestDuration(tenant: batch.tenant, status: outcome.status ?? -1, .now - started)
            if outcome.succeeded { return .succeeded }
            if let status = outcome.status, status == 429 ? !options.retryOnHTTP429 : !(500..<600).contains(status) {
                return .permanent(outcome)
            }
            return .retryable(outcome, retryAfter: outcome.retryAfter)
        } willRetry: { outcome, wait, attempts in
            counters.batchRetries.increment()
            logger.debug(
                "loki.write push failed, will retry",
                metadata: [
                    "tenant": "\(batch.tenant)", "status": "\(outcome.status.map(String.init) ?? "none")",
                    "error": "\(outcome.message)", "attempt": "\(attempts)", "wait": "\(wait)",
                ])
        }
        let entries = batch.entryCount
        switch outcome {
        case .sent:
            counters.sentBytes.increment(by: Int64(body.count))
            counters.sentEntries.increment(by: Int64(entries))
        case .refused(let last) where last.status == 429:
            dropped(
                tenant: batch.tenant, reason: .rateLimited, entries: entries, bytes: body.count,
                "the server answered 429 and retry_on_http_429 is false: \(last.message)")
        case .refused(let last):
            dropped(
                tenant: batch.tenant, reason: .ingesterError, entries: entries, bytes: body.count,
                "the server refused the batch with HTTP \(last.status ?? 0), which is not retried: \(last.message)")
        case .gaveUp(let last, _, let attempts):
            dropped(
                tenant: batch.tenant, reason: last.status == 429 ? .rateLimited : .ingesterError,
                entries: entries, bytes: body.count,
                "no attempts left after \(attempts) (max_backoff_retries); last error: \(last.message)")
        case .cancelled(let last, let waiting):
            abandoned = true
            dropped(
                tenant: batch.tenant, reason: .drainTimeout, entries: entries, bytes: body.count,
                "drain_timeout ran out while \(waiting ? "waiting to retry" : "sending") (last error: \(last.message))")
        }
    }

    /// One POST of an encoded push body.
    func post(_ body: ByteBuffer, tenant: String) async -> PushOutcome {
        var request = HTTPClientRequest(url: options.target.requestURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-protobuf")
        request.headers.add(name: "User-Agent", value: AgentHTTP.userAgent)
        if !tenant.isEmpty { request.headers.add(name: "X-Scope-OrgID", value: tenant) }
        // Custom headers never replace the ones above (Alloy's rule); sorted so requests are reproducible.
        for (name, value) in options.headers.sorted(by: { $0.key < $1.key }) where !request.headers.contains(name: name) {
            request.headers.add(name: name, value: value)
        }
        if !request.headers.contains(name: "Authorization") {
            do {
                if let authorization = try authorization() {
                    request.headers.add(name: "Authorization", value: authorization)
                }
            } catch {
                // As Prometheus' client: the request fails (and is retried), the file may be back by then.
                return PushOutcome(status: nil, retryAfter: nil, message: "\(error)")
            }
        }
        request.body = .bytes(body)
        do {
            let response = try await httpClient.execute(
                request, timeout: .nanoseconds(DurationText.nanoseconds(options.remoteTimeout)))
            let status = Int(response.status.code)
            var outcome = PushOutcome(status: status, retryAfter: nil, message: "HTTP \(status)")
            if (200..<300).contains(status) {
                // Read to the end so the connection can be reused; the push is accepted whatever happens here.
                do { for try await _ in response.body {} } catch {}
                return outcome
            }
            outcome.retryAfter = response.headers.first(name: "Retry-After").flatMap {
                RetryAfter.parse($0, nowSeconds: AgentHTTP.wallClockSeconds())
            }
            // The first line of the body, as Alloy logs it; read at most 1 KiB.
            var text: [UInt8] = []
            do {
                for try await chunk in response.body {
                    text.append(contentsOf: chunk.readableBytesView.prefix(1024 - text.count))
                    if text.count >= 1024 { break }
                }
            } catch {}
            let line = text.split(separator: UInt8(ascii: "\n"), maxSplits: 1, omittingEmptySubsequences: false).first ?? []
            outcome.message = "HTTP \(status): \(String(decoding: line, as: UTF8.self))"
            return outcome
        } catch {
            return PushOutcome(status: nil, retryAfter: nil, message: "\(error)")
        }
    }

    /// A credentials file that could not be read.
    struct CredentialsFileError: Error, CustomStringConvertible {
        let attribute: String
        let path: String
        let reason: String

        var description: String { "unable to read \(attribute) \(path): \(reason)" }
    }

    /// `Authorization` from `bearer_token[_file]`, `authorization`, `basic_auth` or credentials in the URL (at
    /// most one is configured). Files are read for every request, trimmed of surrounding white space.
    func authorization() throws(CredentialsFileError) -> String? {
        if let token = options.bearerToken { return "Bearer \(token)" }
        if let path = options.bearerTokenFile { return "Bearer \(try Self.read(path, for: "bearer_token_file"))" }
        if let authorization = options.authorization {
            let credentials = try authorization.credentialsFile.map { path throws(CredentialsFileError) in
                try Self.read(path, for: "authorization credentials_file")
            } ?? authorization.credentials ?? ""
            return "\(authorization.type) \(credentials)"
        }
        let basic: (String, String)?
        if let auth = options.basicAuth {
            basic = (auth.username, try auth.passwordFile.map { path throws(CredentialsFileError) in
                try Self.read(path, for: "basic_auth password_file")
            } ?? auth.password)
        } else {
            basic = options.target.username.map { ($0, options.target.password ?? "") }
        }
        guard let (username, password) = basic else { return nil }
        return "Basic " + Base64Codec.encoded(Array("\(username):\(password)".utf8))
    }

    private static func read(_ path: String, for attribute: String) throws(CredentialsFileError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CredentialsFileError(attribute: attribute, path: path, reason: "no such file or not readable")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
