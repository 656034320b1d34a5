import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle
import Wire

/// Loki's HTTP API over the backend's modules: push, query, labels, series and operations endpoints.
///
/// Handlers do the HTTP part only (tenant, parameters, status codes, JSON); the modules do the work.
public struct LokiAPI: Sendable {
    public struct Settings: Sendable {
        /// `auth_enabled`: when false every request belongs to tenant `fake`.
        public var authEnabled: Bool
        /// `server.grpc_server_max_recv_msg_size`: the largest push body, compressed or not.
        public var maxRequestBytes: Int
        /// The bytes of push bodies read at once, across all requests, before more are refused with 503:
        /// 16 bodies of the largest size (64 MiB at Loki's default 4 MiB).
        public var maxInflightPushBytes: Int { maxRequestBytes.saturatingMultiplied(by: 16) }
        public var limits: @Sendable (String) -> Limits
        /// The effective configuration as YAML, served at `/config`.
        public var configYAML: String
        /// The modules this process runs, listed at `/services`.
        public var services: [String]
        /// `/runtime_config` (the argument: `?mode=diff`); nil when no runtime configuration is set.
        public var runtimeConfigYAML: @Sendable (_ diff: Bool) -> String?

        public init(authEnabled: Bool, maxRequestBytes: Int, limits: @escaping @Sendable (String) -> Limits,
                    configYAML: String, services: [String],
                    runtimeConfigYAML: @escaping @Sendable (_ diff: Bool) -> String? = { _ in nil }) {
            self.authEnabled = authEnabled
            self.maxRequestBytes = maxRequestBytes
            self.limits = limits
            self.configYAML = configYAML
            self.services = services
            self.runtimeConfigYAML = runtimeConfigYAML
        }
    }

    let settings: Settings
    let distributor: Distributor
    let querier: Querier
    /// Log and metric queries go through the frontend: its fair queue, splitting and results cache.
    let frontend: QueryFrontend
    let ingester: Ingester
    let metrics: BackendMetrics
    let readiness: @Sendable () -> Bool
    let now: @Sendable () -> Int64
    /// Push bodies held at once, across requests: `maxInflightPushBytes`.
    let inflightPushBytes: ByteBudget
    /// The delete API and query-time filtering of deleted lines; nil when deletion is off.
    let deletes: DeleteRequestsAPI?

    public init(
        settings: Settings, distributor: Distributor, querier: Querier, ingester: Ingester, metrics: BackendMetrics,
        readiness: @escaping @Sendable () -> Bool, deletes: DeleteRequestsAPI? = nil,
        frontend: QueryFrontend? = nil, now: @escaping @Sendable () -> Int64 = WallClock.nanoseconds
    ) {
        self.frontend = frontend ?? QueryFrontend(querier: querier, settings: QueryFrontend.Settings(), now: now)
        self.deletes = deletes
        self.settings = settings
        self.distributor = distributor
        self.querier = querier
        self.ingester = ingester
        self.metrics = metrics
        self.readiness = readiness
        self.now = now
        inflightPushBytes = ByteBudget(capacity: settings.maxInflightPushBytes)
    }

    /// A router with every endpoint, timing each request into `loki_request_duration_seconds`.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        for path in ["/loki/api/v1/push", "/api/prom/push"] {
            router.post(RouterPath(path)) { request, _ in try await handle { try await push(request) } }
        }
        router.post("/otlp/v1/logs") { request, _ in try await handleOTLP { try await otlpPush(request) } }
        route(router, "/loki/api/v1/query_range") { request, _ in
            try await handle { try await queryRange(request) }
        }
        route(router, "/loki/api/v1/query") { request, _ in
            try await handle { try await instantQuery(request) }
        }
        for path in ["/loki/api/v1/labels", "/loki/api/v1/label"] {
            route(router, RouterPath(path)) { request, _ in
                try await handle { try await labelNames(request) }
            }
        }
        route(router, "/loki/api/v1/label/:name/values") { request, context in
            try await handle { try await labelValues(request, name: context.parameters.get("name") ?? "") }
        }
        route(router, "/loki/api/v1/series") { request, _ in
            try await handle { try await series(request) }
        }
        route(router, "/loki/api/v1/format_query") { request, _ in
            try await handle { try await formatQuery(request) }
        }
        if let deletes, deletes.serveEndpoints { addDeleteRoutes(router, deletes) }
        addTailRoute(router)
        addIndexRoutes(router)
        addDetectedFieldsRoute(router)
        router.get("/ready") { _, _ in
            readiness() ? text(200, "ready") : text(503, "Ingester not ready: waiting for the backend to start")
        }
        router.get("/metrics") { _, _ in
            body(200, metrics.render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        router.get("/config") { _, _ in
            text(200, settings.configYAML, contentType: "text/plain; charset=utf-8")
        }
        router.get("/runtime_config") { request, _ in
            let diff = QueryParameters(query: request.uri.query, formBody: nil)["mode"] == "diff"
            return text(200, settings.runtimeConfigYAML(diff) ?? RuntimeOverrides.noRuntimeConfig,
                        contentType: "text/plain; charset=utf-8")
        }
        router.get("/services") { _, _ in
            text(200, settings.services.map { "\($0) => Running" }.joined(separator: "\n") + "\n")
        }
        router.get("/loki/api/v1/status/buildinfo") { _, _ in
            var json = JSONWriter()
            json.raw("{\"version\":")
            json.string(BuildInfo.version)
            json.raw(",\"revision\":")
            json.string(BuildInfo.revision)
            json.raw(",\"branch\":\"\",\"buildUser\":\"\",\"buildDate\":\"\",\"goVersion\":\"\"}")
            return body(200, json.bytes, contentType: "application/json")
        }
        for path in ["/flush", "/ingester/flush"] {
            route(router, RouterPath(path)) { _, _ in
                await ingester.flush()
                return Response(status: .noContent)
            }
        }
        return router
    }

    /// Registers `handler` for GET and POST, as Loki serves its read endpoints.
    func route(
        _ router: Router<BasicRequestContext>, _ path: RouterPath,
        _ handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response
    ) {
        router.on(path, method: .get, use: handler)
        router.on(path, method: .post, use: handler)
    }

    func handle(_ work: () async throws -> Response) async throws -> Response {
        do {
            return try await work()
        } catch let error as APIError {
            var response = text(error.status, error.message)
            if let seconds = error.retryAfterSeconds { response.headers[.retryAfter] = String(seconds) }
            return response
        } catch let error as LogQLError {
            return text(400, error.description)
        } catch is CancellationError {
            // Only a graceful shutdown cancels a request's work (a timeout answers 504 above).
            return text(503, "the server is shutting down; retry the request")
        }
    }

    // MARK: Tenant and body

    func tenant(_ request: Request) throws -> String {
        try tenant(headers: request.headers)
    }

    func tenant(headers: HTTPFields) throws -> String {
        guard settings.authEnabled else { return "fake" }
        guard let id = headers[HTTPField.Name.scopeOrgID], !id.isEmpty else {
            throw APIError(status: 401, message: "no org id")
        }
        if let problem = TenantID.problem(id) { throw APIError(status: 401, message: problem) }
        return id
    }

    /// Reads a body of at most `limit` bytes. With a `budget`, every byte read is first reserved from it, and
    /// `reserved` says how much to release once the request is done (also when this throws).
    private func readBody(
        _ request: Request, limit: Int, budget: ByteBudget? = nil, reserved: inout Int
    ) async throws -> [UInt8] {
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw APIError(status: 413, message: "request body too large: \(declared) bytes, limit: \(limit) bytes")
        }
        var bytes: [UInt8] = []
        for try await buffer in request.body {
            guard bytes.count + buffer.readableBytes <= limit else {
                throw APIError(status: 413, message:
                    "request body too large: more than \(limit) bytes, limit: \(limit) bytes")
            }
            if let budget {
                guard budget.reserve(buffer.readableBytes) else {
                    metrics.pushRefused(reason: "inflight_bytes")
                    throw APIError(status: 503, message:
                        "too many push bytes in flight: more than \(budget.capacity) bytes of request bodies are being read at once; retry later",
                        retryAfterSeconds: 1)
                }
                reserved += buffer.readableBytes
            }
            buffer.withUnsafeReadableBytes { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    private func readBody(_ request: Request, limit: Int) async throws -> [UInt8] {
        var reserved = 0
        return try await readBody(request, limit: limit, reserved: &reserved)
    }

    // MARK: Push

    private func push(_ request: Request) async throws -> Response {
        try await receivePush(request) { tenant, body in
            do {
                return try PushBodyDecoder.decode(
                    body: body, contentType: request.headers[.contentType],
                    contentEncoding: request.headers[.contentEncoding], maxDecompressedSize: settings.maxRequestBytes)
            } catch let error as PushDecodeError {
                throw refuseBody(tenant: tenant, body: body, tooLarge: error.isBodyTooLarge, message: "\(error)")
            }
        }
    }

    /// What every push endpoint shares: the tenant, the body read under `max_recv_msg_size` and the in-flight
    /// budget, then `decode` (which throws an `APIError` for a body it cannot read, counted by `refuseBody`),
    /// then the distributor and Loki's answer: 204, or the status and summary of what was rejected (as plain
    /// text, or as `rejection` writes it).
    func receivePush(
        _ request: Request, discoverServiceName: Bool = true,
        rejection: (_ status: Int, _ message: String) -> Response? = { _, _ in nil },
        decode: (_ tenant: String, _ body: [UInt8]) throws -> PushRequest
    ) async throws -> Response {
        let tenant = try tenant(request)
        let body: [UInt8]
        var reserved = 0
        defer { inflightPushBytes.release(reserved) }
        do {
            body = try await readBody(request, limit: settings.maxRequestBytes, budget: inflightPushBytes,
                                      reserved: &reserved)
        } catch let error as APIError where error.status == 413 {
            let declared = request.headers[.contentLength].flatMap(Int.init) ?? settings.maxRequestBytes
            metrics.discarded(tenant: tenant, reason: .requestBodyTooLarge, entries: 0, bytes: declared)
            throw error
        }
        let decoded = try decode(tenant, body)
        let outcome: Distributor.Outcome
        do {
            outcome = try await distributor.push(tenant: tenant, request: decoded,
                                                 discoverServiceName: discoverServiceName)
        } catch {
            metrics.pushRefused(reason: error.reason)
            throw APIError(status: 503, message: error.message, retryAfterSeconds: 1)
        }
        if outcome.status == 204 { return Response(status: .noContent) }
        return rejection(outcome.status, outcome.rejected.summary) ?? text(outcome.status, outcome.rejected.summary)
    }

    /// A push body that cannot be decoded: counted as discarded (`request_body_too_large` or `invalid_request`)
    /// and answered 413 or 400 with `message`.
    func refuseBody(tenant: String, body: [UInt8], tooLarge: Bool, message: String) -> APIError {
        metrics.discarded(tenant: tenant, reason: tooLarge ? .requestBodyTooLarge : .invalidRequest,
                          entries: 0, bytes: body.count)
        return APIError(status: tooLarge ? 413 : 400, message: message)
    }

    // MARK: Queries

    func parameters(_ request: Request) async throws -> QueryParameters {
        var form: [UInt8]? = nil
        if request.method == .post,
           request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true {
            form = try await readBody(request, limit: 1 << 20)
        }
        return QueryParameters(query: request.uri.query, formBody: form)
    }

    /// `start`/`end`/`since` into [start, end) nanoseconds, with Loki's defaults: `end` now, `start` `since`
    /// (an hour) before the earlier of `end` and now. Arithmetic saturates: a window reaching past what 64 bits
    /// of nanoseconds hold is cut at that bound, never wrapped.
    /// `start` and `end` (or `since`), checked against `max_query_length`. A log query reads [start, end), so
    /// `start == end` selects nothing, as in Loki; metadata queries (`inclusiveEnd`) read the instant `end` too.
    func timeRange(_ params: QueryParameters, limits: Limits, inclusiveEnd: Bool = false) throws -> (Int64, Int64) {
        let now = now()
        var end = now
        if let value = params["end"] {
            guard let parsed = QueryParameters.parseTime(value) else {
                throw APIError.badRequest("invalid end parameter: cannot parse \"\(value)\" to a valid timestamp")
            }
            end = parsed
        }
        var since: Int64 = 3_600_000_000_000
        if let value = params["since"] {
            guard let parsed = QueryParameters.parseDuration(value) else {
                throw APIError.badRequest("invalid since parameter: cannot parse \"\(value)\" to a valid duration")
            }
            since = parsed
        }
        var start = min(end, now).saturatingSubtracting(since)
        if let value = params["start"] {
            guard let parsed = QueryParameters.parseTime(value) else {
                throw APIError.badRequest("invalid start parameter: cannot parse \"\(value)\" to a valid timestamp")
            }
            start = parsed
        }
        guard end >= start else {
            throw APIError.badRequest("end timestamp must not be before or equal to start time")
        }
        let length = end.saturatingSubtracting(start)
        if limits.maxQueryLength > 0 && length > limits.maxQueryLength {
            throw APIError.badRequest(
                "the query time range exceeds the limit (query length: \(LokiDurationText.format(length)), limit: \(LokiDurationText.format(limits.maxQueryLength)))")
        }
        // `max_query_lookback`: what lies before it is not read; a range wholly before it reads nothing.
        if limits.maxQueryLookback > 0 {
            let earliest = now.saturatingSubtracting(limits.maxQueryLookback)
            if start < earliest {
                start = earliest
                if end < start { return (start, start) }
            }
        }
        return (start, inclusiveEnd ? end.saturatingAdding(1) : end)
    }

    func limitAndDirection(_ params: QueryParameters, limits: Limits) throws -> (Int, Direction) {
        var limit = 100
        if let value = params["limit"] {
            guard let parsed = Int(value) else {
                throw APIError.badRequest("invalid limit parameter: strconv.ParseInt: parsing \"\(value)\": invalid syntax")
            }
            guard parsed > 0 else { throw APIError.badRequest("limit must be a positive value") }
            limit = parsed
        }
        if limits.maxEntriesLimitPerQuery > 0 && limit > limits.maxEntriesLimitPerQuery {
            throw APIError.badRequest(
                "max entries limit per query exceeded, limit > max_entries_limit_per_query (\(limit) > \(limits.maxEntriesLimitPerQuery))")
        }
        var direction = Direction.backward
        switch params["direction"]?.lowercased() {
        case nil, "", "backward": direction = .backward
        case "forward": direction = .forward
        case let other?:
            throw APIError.badRequest("invalid direction parameter: \"\(other)\" is not \"forward\" or \"backward\"")
        }
        return (limit, direction)
    }

    private func queryRange(_ request: Request) async throws -> Response {
        let tenant = try tenant(request)
        let params = try await parameters(request)
        let limits = settings.limits(tenant)
        guard let text = params["query"], !text.isEmpty else {
            throw APIError.badRequest("query must not be empty")
        }
        let log: LogExpression
        switch try LogQLParser.parse(text) {
        case .sample(let sample):
            return try await metricRangeQuery(sample, tenant: tenant, params: params, limits: limits)
        case .log(let parsed):
            log = parsed
        }
        let (start, end) = try timeRange(params, limits: limits)
        let (limit, direction) = try limitAndDirection(params, limits: limits)
        let (leading, pipeline) = try LogPipeline.split(log.stages)
        var query = LogQuery(tenant: tenant, matchers: log.matchers, lineFilters: leading,
                             start: start, end: end, limit: limit, direction: direction)
        query.pipeline = pipeline
        query.deletes = try await deleteFilter(tenant: tenant, limits: limits, start: start, end: end)
        let filtered = query
        let (streams, stats) = try await Self.withQueryTimeout(limits) { try await frontend.selectLogs(filtered, limits: limits) }
        return body(200, LokiJSON.streams(streams, stats: stats), contentType: "application/json")
    }

    private func instantQuery(_ request: Request) async throws -> Response {
        let tenant = try tenant(request)
        let params = try await parameters(request)
        guard let text = params["query"], !text.isEmpty else {
            throw APIError.badRequest("query must not be empty")
        }
        if case .sample(let sample) = try LogQLParser.parse(text) {
            return try await metricInstantQuery(sample, tenant: tenant, params: params, limits: settings.limits(tenant))
        }
        throw APIError.badRequest(
            "log queries are not supported as an instant query type, please change your query to a range query type")
    }

    private func labelNames(_ request: Request) async throws -> Response {
        let tenant = try tenant(request)
        let params = try await parameters(request)
        let limits = settings.limits(tenant)
        let (start, end) = try timeRange(params, limits: limits, inclusiveEnd: true)
        let matchers = try params["query"].flatMap { $0.isEmpty ? nil : try Self.matchersOnly($0) }
        let names = try await Self.withQueryTimeout(limits) {
            try await querier.labelNames(tenant: tenant, start: start, end: end, matchers: matchers)
        }
        return body(200, LokiJSON.strings(names), contentType: "application/json")
    }

    private func labelValues(_ request: Request, name: String) async throws -> Response {
        let tenant = try tenant(request)
        let params = try await parameters(request)
        let limits = settings.limits(tenant)
        let (start, end) = try timeRange(params, limits: limits, inclusiveEnd: true)
        let selected = try params["query"].flatMap { $0.isEmpty ? nil : try Self.matchersOnly($0) }
        let values = try await Self.withQueryTimeout(limits) {
            try await querier.labelValues(tenant: tenant, name: name, start: start, end: end, matchers: selected)
        }
        return body(200, LokiJSON.strings(values), contentType: "application/json")
    }

    private func series(_ request: Request) async throws -> Response {
        let tenant = try tenant(request)
        let params = try await parameters(request)
        let limits = settings.limits(tenant)
        let (start, end) = try timeRange(params, limits: limits, inclusiveEnd: true)
        let selectors = try (params.all("match[]") + params.all("match")).map { try Self.matchersOnly($0) }
        let found = try await Self.withQueryTimeout(limits) {
            try await querier.series(tenant: tenant, selectors: selectors, start: start, end: end)
        }
        return body(200, LokiJSON.series(found), contentType: "application/json")
    }

    /// The matchers of a selector that is nothing more, as Loki's `syntax.ParseMatchers` reads the `query` of label
    /// queries and the `match[]` of series queries: a pipeline is 400 `only label matchers are supported`.
    static func matchersOnly(_ text: String) throws -> [LabelMatcher] {
        guard case .log(let log) = try LogQLParser.parse(text), log.stages.isEmpty else {
            throw APIError.badRequest("only label matchers are supported")
        }
        return log.matchers
    }

    /// Runs a query's work under the tenant's `query_timeout`: past it the work is cancelled (the scans check
    /// between chunks, blocks, streams and index days, so it stops within one of those) and the request is
    /// answered 504 with Loki's wording. A graceful shutdown (SIGTERM) cancels it too, answered 503, so that
    /// stopping never waits for a long query.
    static func withQueryTimeout<T: Sendable>(
        _ limits: Limits, _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        guard limits.queryTimeout > 0 else { return try await cancelWhenGracefulShutdown(work) }
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await cancelWhenGracefulShutdown(work) }
            group.addTask {
                // A deadline timer, not a wait for work: it is cancelled as soon as the query answers.
                try await Task.sleep(for: .nanoseconds(limits.queryTimeout))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw APIError(status: 504, message: Self.deadlineExceeded)
            }
            return value
        }
    }

    /// Loki's `ErrDeadlineExceeded`.
    static let deadlineExceeded = "request timed out, decrease the duration of the request or add more label matchers (prefer exact match over regex match) to reduce the amount of data processed"

    // MARK: Responses

    func text(_ status: Int, _ message: String, contentType: String = "text/plain; charset=utf-8") -> Response {
        body(status, Array((message.hasSuffix("\n") ? message : message + "\n").utf8), contentType: contentType)
    }

    func body(_ status: Int, _ bytes: [UInt8], contentType: String) -> Response {
        Response(
            status: HTTPResponse.Status(code: status),
            headers: [.contentType: contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

extension HTTPField.Name {
    /// Loki's tenant header.
    static let scopeOrgID: HTTPField.Name = {
        guard let name = HTTPField.Name("X-Scope-OrgID") else { preconditionFailure("X-Scope-OrgID is a valid field name") }
        return name
    }()
}
