import AlloyLanguage
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Synchronization
import Wire

/// `loki.source.api`: receives entries over HTTP in Loki's push format and forwards them to `forward_to`, so
/// another agent's `loki.write`, Promtail, or any Loki client can push through this agent.
///
/// Endpoints (Alloy's): `POST /loki/api/v1/push` and its alias `POST /api/v1/push` (protobuf+snappy or JSON,
/// optionally gzip or deflate), `POST /loki/api/v1/raw` and `POST /api/v1/raw` (newline-separated lines), and
/// `GET /ready`. Pushed labels are kept, `labels` added, labels starting with `__` dropped, and the request's
/// `X-Scope-OrgID` kept as `__tenant_id__` so that `loki.write` sends the entries as that tenant. Structured
/// metadata is kept. When `forward_to` is full the client gets 503 with `Retry-After` and nothing of the request
/// is kept, so its retry does not duplicate entries (with one receiver; see ``Downstream/fanOut(_:)``).
///
/// Exports nothing. A reload that leaves the `http` block unchanged keeps the listener (same socket, same port);
/// a changed one stops the old listener (gracefully) and binds the new address.
public final class LokiSourceAPI: Component {
    public static let name = "loki.source.api"

    struct State: Sendable {
        var arguments: Arguments
        /// Bumped whenever the listener must be rebuilt; `run()` follows it.
        var generation = 0
        /// The port the current listener is bound to, nil while none is running.
        var boundPort: Int?
        /// How many listeners have been bound so far (a reload that keeps the listener does not count).
        var binds = 0
    }

    let context: ComponentContext
    let state: Mutex<State>
    let metrics: Metrics
    /// The bytes of request bodies held at once, bounded by `max_in_flight_body_size`.
    let bodyBudget: RequestBodyBudget
    private let listenerLoop = HTTPListenerLoop()
    public let exports = ValueObject()

    public init(context: ComponentContext, arguments: Arguments) throws {
        self.context = context
        state = Mutex(State(arguments: arguments))
        metrics = Metrics(registry: context.metrics, componentID: context.id)
        bodyBudget = metrics.bodyBudget(limit: arguments.inFlightBodyLimit)
        try update(arguments)
    }

    public func update(_ arguments: Arguments) throws {
        let rebind = state.withLock { state -> Int? in
            let old = state.arguments.http
            state.arguments = arguments
            bodyBudget.setLimit(arguments.inFlightBodyLimit)
            guard old != arguments.http else { return nil }
            state.generation += 1
            return state.generation
        }
        if let rebind { listenerLoop.rebind(to: rebind) }
    }

    /// The port the listener is bound to, once it listens (tests pass `listen_port = 0` and read it here).
    var boundPort: Int? { state.withLock { $0.boundPort } }

    /// How many times a listener was bound.
    var bindCount: Int { state.withLock { $0.binds } }

    /// Serves until cancelled, rebinding when the `http` block changes. Throws when the listener cannot bind
    /// or stops on its own, which marks the component unhealthy.
    public func run() async throws {
        try await listenerLoop.run(
            from: state.withLock { $0.generation }, logger: context.logger,
            grace: { state.withLock { $0.arguments.gracefulShutdownTimeout } },
            stopped: { state.withLock { $0.boundPort = nil } },
            make: listener(generation:))
    }

    private func listener(generation: Int) -> HTTPListenerLoop.Listener {
        let http = state.withLock { $0.arguments.http }
        metrics.tcpConnectionsLimit.set(Double(http.connLimit))
        let logger = context.logger
        let address = "\(http.bindHost):\(http.listenPort)"
        let app = Application(
            router: makeRouter(),
            server: .http1(configuration: .init(idleTimeout: .nanoseconds(DurationText.nanoseconds(http.serverIdleTimeout)))),
            configuration: .init(
                address: .hostname(http.bindHost, port: http.listenPort), serverName: nil,
                availableConnectionsDelegate: ConnectionCounter(limit: http.connLimit, gauge: metrics.tcpConnections)),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port
                self.state.withLock { state in
                    guard state.generation == generation else { return }
                    state.boundPort = port
                    state.binds += 1
                }
                logger.info("loki push API listening", metadata: ["address": "\(channel.localAddress?.description ?? address)"])
            },
            logger: logger)
        return HTTPListenerLoop.Listener(service: app, address: address)
    }
}
