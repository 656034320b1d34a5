import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOWebSocket
import WSCore
import Wire

/// Loki's live tail, `GET /loki/api/v1/tail` over a websocket (`pkg/querier/http.go` `TailHandler`,
/// `pkg/querier/tail`): first the newest `limit` entries since `start`, oldest first, then every matching entry as
/// it is pushed, in text messages of at most 100 entries; a ping every second; entries a slow client could not take
/// in time reported as `dropped_entries`. The query's whole log pipeline runs on both (`TailPipeline` on the live
/// feed, `selectLogs` on the history).
///
/// Bad parameters are answered before the upgrade, with Loki's 400 and wording (`webSocketUpgrade` decides, and
/// `WebSocketUpgradeChannel` writes the refusal). Refusals after the upgrade (too many tails, a failed
/// history query, the hour-long `tail_max_duration`) close the socket with 1011 and Loki's message.
extension LokiAPI {
    /// Loki's querier `tail_max_duration` default: a tail is closed after an hour.
    static let tailMaxDuration: Duration = .seconds(3600)
    /// Loki's `wsPingPeriod`.
    static let tailPingPeriod: Duration = .seconds(1)
    /// Loki's `maxEntriesPerTailResponse`.
    static let tailEntriesPerMessage = 100
    /// Loki's `maxDelayForInTailing`, seconds.
    static let maxTailDelay: Int64 = 5

    /// A tail request's parameters, checked.
    struct TailParameters: Sendable {
        var matchers: [LabelMatcher]
        /// The line filters before any other stage.
        var lineFilters: LineFilterChain
        /// The rest of the query's log pipeline, nil when there is none.
        var pipeline: LogPipeline?
        /// Nanoseconds: where the history starts.
        var start: Int64
        /// `delay_for`, seconds: entries are held back this long so that late ones can be put in order.
        var delayFor: Int64
        var limit: Int
        /// `X-Loki-Response-Encoding-Flags: categorize-labels`: structured metadata beside the line, not in the labels.
        var categorize: Bool
    }

    func tailParameters(_ params: QueryParameters, headers: HTTPFields, limits: Limits) throws -> TailParameters {
        guard let text = params["query"], !text.isEmpty else { throw APIError.badRequest("query must not be empty") }
        // Loki finds out when the tail's history query asks for a log selector, and closes the socket after the
        // upgrade; answered before it here, with that message.
        guard case .log(let log) = try LogQLParser.parse(text) else {
            throw APIError.badRequest("only log selector is supported")
        }
        let (leading, pipeline) = try LogPipeline.split(log.stages)
        let (limit, _) = try limitAndDirection(params, limits: limits)
        var start = now().saturatingSubtracting(3_600_000_000_000)
        if let value = params["start"], !value.isEmpty {
            guard let parsed = QueryParameters.parseTime(value) else {
                throw APIError.badRequest("invalid start parameter: cannot parse \"\(value)\" to a valid timestamp")
            }
            start = parsed
        }
        var delay: Int64 = 0
        if let value = params["delay_for"], !value.isEmpty {
            guard let parsed = Int64(value) else {
                throw APIError.badRequest("strconv.Atoi: parsing \"\(value)\": invalid syntax")
            }
            // Loki reads it into a uint32, so a negative value is "greater than 5" too.
            guard (0...Self.maxTailDelay).contains(parsed) else {
                throw APIError.badRequest("delay_for can't be greater than \(Self.maxTailDelay)")
            }
            delay = parsed
        }
        let flags = headers[.lokiEncodingFlags]?.split(separator: ",").map { $0.trimmingWhitespace() } ?? []
        return TailParameters(matchers: log.matchers, lineFilters: leading, pipeline: pipeline, start: start,
                              delayFor: delay, limit: limit, categorize: flags.contains("categorize-labels"))
    }

    /// `/loki/api/v1/tail` without a websocket handshake: the parameters' problem, or, for a valid request, the 400
    /// Loki's websocket library answers.
    func addTailRoute(_ router: Router<BasicRequestContext>) {
        router.get("/loki/api/v1/tail") { request, _ in
            try await handle {
                let tenant = try tenant(request)
                _ = try tailParameters(QueryParameters(query: request.uri.query, formBody: nil),
                                       headers: request.headers, limits: settings.limits(tenant))
                var response = text(400, "Bad Request")
                response.headers[.secWebSocketVersion] = "13"
                return response
            }
        }
    }

    /// Decides a websocket handshake from the request target and headers: `/loki/api/v1/tail` with a tenant and
    /// valid parameters is upgraded; otherwise the answer is Loki's status and reason (401 `no org id`, 400 and the
    /// parameter's problem), or `400 Bad Request` on any other path, as from Loki's websocket library.
    public func webSocketUpgrade(target: String, headers: HTTPFields) -> WebSocketUpgradeDecision {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.first == "/loki/api/v1/tail" else { return .refuse(status: 400, message: "Bad Request") }
        do {
            let tenant = try tenant(headers: headers)
            let parameters = try tailParameters(
                QueryParameters(query: parts.count > 1 ? String(parts[1]) : nil, formBody: nil),
                headers: headers, limits: settings.limits(tenant))
            return .accept { inbound, outbound, context in
                await tail(parameters, tenant: tenant, inbound: inbound, outbound: outbound, logger: context.logger)
            }
        } catch let error as APIError {
            return .refuse(status: error.status, message: error.message)
        } catch let error as LogQLError {
            return .refuse(status: 400, message: error.description)
        } catch {
            return .refuse(status: 400, message: "\(error)")
        }
    }

    /// One tail, from upgrade to close.
    func tail(
        _ parameters: TailParameters, tenant: String, inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter, logger: Logger
    ) async {
        let limits = settings.limits(tenant)
        let filter = TailPipeline(matchers: parameters.matchers, lineFilters: parameters.lineFilters,
                                  pipeline: parameters.pipeline, categorize: parameters.categorize)
        let subscription: TailSubscription
        do {
            subscription = try ingester.subscribeTail(
                tenant: tenant, limit: limits.maxConcurrentTailRequests, filter: filter)
        } catch {
            await Self.closeTail(outbound, reason: error.description)
            return
        }
        defer { ingester.unsubscribeTail(subscription) }
        logger.info("starting to tail logs", metadata: ["tenant": "\(tenant)"])
        defer { logger.info("ended tailing logs", metadata: ["tenant": "\(tenant)"]) }
        await withTaskGroup(of: Void.self) { group in
            // The client's close, or a dropped connection, ends the tail; nothing else is expected from it.
            group.addTask {
                var frames = inbound.makeAsyncIterator()
                while true {
                    guard let frame = try? await frames.next() else { return }
                    _ = frame
                }
            }
            // Keepalive and `delay_for` clock: wakes the sender every second (a deadline timer, not a wait for work).
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: Self.tailPingPeriod)
                    subscription.wake()
                }
            }
            group.addTask {
                await sendTail(parameters, tenant: tenant, limits: limits, subscription: subscription,
                               outbound: outbound)
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// An entry already sent with the history, recognised when the live feed brings it again.
    private struct SentEntry: Hashable {
        let labels: LabelSet
        let timestamp: Int64
        let line: [UInt8]

        init(_ entry: TailEntry) {
            labels = entry.labels
            timestamp = entry.timestamp
            line = entry.line
        }
    }

    /// Sends the history, then what the subscription receives, until the client goes or the tail must end.
    private func sendTail(
        _ parameters: TailParameters, tenant: String, limits: Limits, subscription: TailSubscription,
        outbound: WebSocketOutboundWriter
    ) async {
        let started = ContinuousClock.now
        do {
            // Subscribed first, then the history up to now: nothing pushed in between is missed, and what both
            // bring is sent once.
            let historyEnd = now()
            var query = LogQuery(
                tenant: tenant, matchers: parameters.matchers, lineFilters: parameters.lineFilters,
                start: parameters.start, end: historyEnd, limit: parameters.limit, direction: .backward)
            query.pipeline = parameters.pipeline
            query.categorizeLabels = parameters.categorize
            query.deletes = (try? await deleteFilter(tenant: tenant, limits: limits, start: parameters.start,
                                                     end: historyEnd)) ?? .none
            let historyQuery = query
            let (streams, _) = try await Self.withQueryTimeout(limits) { try await querier.selectLogs(historyQuery) }
            var history = streams.flatMap { stream in
                stream.entries.map {
                    TailEntry(labels: stream.labels, timestamp: $0.timestamp, line: $0.line,
                              structuredMetadata: $0.structuredMetadata, parsed: $0.parsed)
                }
            }
            history.sort { $0.timestamp < $1.timestamp }
            let sent = Set(history.map(SentEntry.init))
            for first in stride(from: 0, to: history.count, by: Self.tailEntriesPerMessage) {
                let batch = Array(history[first..<min(history.count, first + Self.tailEntriesPerMessage)])
                try await send(batch, dropped: [], categorize: parameters.categorize, to: outbound)
            }
            var lastPing = ContinuousClock.now
            for await _ in subscription.wakeups {
                if ContinuousClock.now - started >= Self.tailMaxDuration {
                    await Self.closeTail(outbound, reason: "reached tail max duration limit")
                    return
                }
                // As Loki's tailer: an entry goes out once its time plus `delay_for` has passed.
                let due = now().saturatingSubtracting(parameters.delayFor * 1_000_000_000)
                while true {
                    let (entries, dropped) = subscription.take(limit: Self.tailEntriesPerMessage, due: due)
                    if entries.isEmpty { break }
                    let fresh = sent.isEmpty ? entries : entries.filter { !sent.contains(SentEntry($0)) }
                    if fresh.isEmpty && dropped.isEmpty { continue }
                    try await send(fresh, dropped: dropped, categorize: parameters.categorize, to: outbound)
                }
                if ContinuousClock.now - lastPing >= Self.tailPingPeriod - .milliseconds(100) {
                    try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer())))
                    lastPing = .now
                }
            }
        } catch is CancellationError {
            return
        } catch let error as APIError {
            await Self.closeTail(outbound, reason: error.message)
        } catch {
            await Self.closeTail(outbound, reason: "\(error)")
        }
    }

    private func send(
        _ entries: [TailEntry], dropped: [DroppedTailEntry], categorize: Bool, to outbound: WebSocketOutboundWriter
    ) async throws {
        let message = LokiJSON.tail(entries, dropped: dropped, categorize: categorize)
        try await outbound.write(.text(String(decoding: message, as: UTF8.self)))
        ingester.tails.metrics.bytes.increment(by: Int64(entries.reduce(0) { $0 + $1.line.count }))
    }

    /// Closes with 1011 and Loki's message, cut to what a close frame holds (123 bytes).
    private static func closeTail(_ outbound: WebSocketOutboundWriter, reason: String) async {
        let text = reason.utf8.count <= 123 ? reason : String(decoding: reason.utf8.prefix(120), as: UTF8.self)
        try? await outbound.close(.unexpectedServerError, reason: text)
    }
}

extension HTTPField.Name {
    /// Loki's response encoding flags header (`categorize-labels`).
    static let lokiEncodingFlags: HTTPField.Name = {
        guard let name = HTTPField.Name("X-Loki-Response-Encoding-Flags") else {
            preconditionFailure("X-Loki-Response-Encoding-Flags is a valid field name")
        }
        return name
    }()
}

extension Substring {
    fileprivate func trimmingWhitespace() -> String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}
