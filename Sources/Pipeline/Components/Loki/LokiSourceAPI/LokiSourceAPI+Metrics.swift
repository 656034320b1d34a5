import Hummingbird
import HummingbirdCore
import Prometheus

extension LokiSourceAPI {
    /// The routes the listener serves, with dskit's `route` label value (the path without slashes).
    enum Route: String, CaseIterable, Sendable {
        case lokiPush = "/loki/api/v1/push"
        case push = "/api/v1/push"
        case lokiRaw = "/loki/api/v1/raw"
        case raw = "/api/v1/raw"
        case ready = "/ready"

        var label: String {
            String(rawValue.dropFirst().map { $0 == "/" ? "_" : $0 })
        }

        var method: String { self == .ready ? "GET" : "POST" }
    }

    /// The component's metrics under Alloy's names: `loki_source_api_entries_written` and the request metrics of
    /// the dskit server Alloy embeds (namespace `loki_source_api`), each with `component_id`.
    struct Metrics: Sendable {
        struct RouteMetrics: Sendable {
            let inflight: Gauge
            let requestBytes: ValueHistogram
            let responseBytes: ValueHistogram
        }

        private let registry: PrometheusCollectorRegistry
        private let componentID: String
        let entriesWritten: Counter
        let tcpConnections: Gauge
        let tcpConnectionsLimit: Gauge
        private let routes: [Route: RouteMetrics]

        /// dskit's `instrument.DefBuckets`, in seconds.
        private static let durationBuckets: [Duration] = [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
            .seconds(25), .seconds(50), .seconds(100),
        ]
        /// dskit's `middleware.BodySizeBuckets`: 1MiB to 250MiB.
        private static let bodySizeBuckets: [Double] = [1, 2.5, 5, 10, 25, 50, 100, 250].map { $0 * 1_048_576 }

        private static func name(_ name: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
        }

        init(registry: PrometheusCollectorRegistry, componentID: String) {
            self.registry = registry
            self.componentID = componentID
            let component = [("component_id", componentID)]
            entriesWritten = registry.makeCounter(
                descriptor: Self.name("loki_source_api_entries_written", "Total number of entries written."),
                labels: component)
            tcpConnections = registry.makeGauge(
                descriptor: Self.name("loki_source_api_tcp_connections", "Current number of accepted TCP connections."),
                labels: component + [("protocol", "http")])
            tcpConnectionsLimit = registry.makeGauge(
                descriptor: Self.name("loki_source_api_tcp_connections_limit", "The max number of TCP connections that can be accepted (0 means no limit)."),
                labels: component + [("protocol", "http")])
            var routes: [Route: RouteMetrics] = [:]
            for route in Route.allCases {
                let labels = component + [("method", route.method), ("route", route.label)]
                routes[route] = RouteMetrics(
                    inflight: registry.makeGauge(
                        descriptor: Self.name("loki_source_api_inflight_requests", "Current number of inflight requests."),
                        labels: labels),
                    requestBytes: registry.makeValueHistogram(
                        descriptor: Self.name("loki_source_api_request_message_bytes", "Size (in bytes) of messages received in the request."),
                        labels: labels, buckets: Self.bodySizeBuckets),
                    responseBytes: registry.makeValueHistogram(
                        descriptor: Self.name("loki_source_api_response_message_bytes", "Size (in bytes) of messages sent in response."),
                        labels: labels, buckets: Self.bodySizeBuckets))
            }
            self.routes = routes
        }

        /// The budget for request bodies held at once, with Estuary's metrics for it:
        /// `loki_source_api_request_body_bytes_in_flight` and `loki_source_api_refused_requests_total{reason}`
        /// (`too_large`: over `max_send_message_size`, 413; `in_flight_limit`: over `max_in_flight_body_size`,
        /// 503).
        func bodyBudget(limit: Int) -> RequestBodyBudget {
            let component = [("component_id", componentID)]
            let refused = Self.name(
                "loki_source_api_refused_requests_total", "Requests refused before their body was read, by reason.")
            return RequestBodyBudget(
                limit: limit,
                inFlightBytes: registry.makeGauge(
                    descriptor: Self.name(
                        "loki_source_api_request_body_bytes_in_flight", "Bytes of request bodies held by the listener now."),
                    labels: component),
                refusedInFlight: registry.makeCounter(
                    descriptor: refused, labels: component + [("reason", RequestBody.RefusalReason.inFlightLimit.rawValue)]),
                refusedTooLarge: registry.makeCounter(
                    descriptor: refused, labels: component + [("reason", RequestBody.RefusalReason.tooLarge.rawValue)]))
        }

        /// Runs `handle` for one request of `route`, counting it in flight and recording its duration (by status
        /// code), request body size and response size.
        func instrument(_ route: Route, _ handle: () async -> (response: Response, bodyBytes: Int)) async -> Response {
            let metrics = routes[route]
            metrics?.inflight.increment()
            let started = ContinuousClock.now
            let (response, bodyBytes) = await handle()
            metrics?.inflight.decrement()
            metrics?.requestBytes.record(Double(bodyBytes))
            metrics?.responseBytes.record(Double(response.body.contentLength ?? 0))
            registry.makeDurationHistogram(
                descriptor: Self.name("loki_source_api_request_duration_seconds", "Time (in seconds) spent serving HTTP requests."),
                labels: [
                    ("component_id", componentID), ("method", route.method), ("route", route.label),
                    ("status_code", String(response.status.code)), ("ws", "false"),
                ],
                buckets: Self.durationBuckets
            ).record(.now - started)
            return response
        }
    }

    /// Counts open connections for `loki_source_api_tcp_connections` and enforces `conn_limit`. Called by the
    /// listener's server channel on its event loop; a copy lives in each listener.
    struct ConnectionCounter: AvailableConnectionsDelegate {
        let limit: Int
        let gauge: Gauge
        private var open = 0

        init(limit: Int, gauge: Gauge) {
            self.limit = limit
            self.gauge = gauge
        }

        mutating func connectionOpened() {
            open += 1
            gauge.increment()
        }

        mutating func connectionClosed() {
            open -= 1
            gauge.decrement()
        }

        func isAcceptingNewConnections() -> Bool { limit <= 0 || open < limit }
    }
}
