import AlloyLanguage
import Synchronization

/// `loki.write`: receives log entries from other components and pushes them to Loki (protobuf + snappy over
/// HTTP), one bounded queue and one sender per `endpoint` block.
///
/// Entries reach it through the `receiver` export (``LogsReceiver``). Each endpoint batches per tenant up to
/// `batch_size` or `batch_wait`, retries 5xx and 429 with exponential backoff (honouring `Retry-After`), and counts
/// everything it sends or drops in Alloy's `loki_write_*` metrics. On reload, endpoints whose block did not change
/// keep their queue and sender; removed ones drain for up to `drain_timeout`, as everything does on shutdown.
public final class LokiWrite: Component {
    public static let name = "loki.write"

    public let exports: ValueObject
    let receiver: Receiver
    private let context: ComponentContext
    private let state = Mutex(State())
    private let senders = SenderTasks<Endpoint>()

    private struct State {
        /// The endpoints of the current arguments.
        var endpoints: [EndpointKey: Endpoint] = [:]
        /// Endpoints whose sender `run()` has yet to start (new ones, and ones retired before `run()` began).
        var toStart: [Endpoint] = []
    }

    public init(context: ComponentContext, arguments: Arguments) throws {
        self.context = context
        receiver = Receiver(componentID: context.id)
        exports = ValueObject([("receiver", .capsule(LogsReceiverCapsule.self, receiver))])
        try update(arguments)
    }

    public func update(_ arguments: Arguments) throws {
        let (started, retired) = state.withLock { state -> ([Endpoint], [Endpoint]) in
            var current: [EndpointKey: Endpoint] = [:]
            var ordered: [Endpoint] = []
            var started: [Endpoint] = []
            for options in arguments.endpoints {
                let key = EndpointKey(options: options, maxStreams: arguments.maxStreams)
                let endpoint: Endpoint
                if let kept = state.endpoints[key] {
                    endpoint = kept
                } else {
                    endpoint = Endpoint(options: options, maxStreams: arguments.maxStreams, context: context)
                    started.append(endpoint)
                    state.toStart.append(endpoint)
                }
                current[key] = endpoint
                ordered.append(endpoint)
            }
            let retired = state.endpoints.filter { current[$0.key] == nil }.map(\.value)
            receiver.replace(endpoints: ordered, externalLabels: arguments.externalLabels, retired: retired)
            state.endpoints = current
            return (started, retired)
        }
        for endpoint in retired {
            context.logger.info("loki.write endpoint removed; draining its queue", metadata: ["host": "\(endpoint.options.host)"])
        }
        for endpoint in started {
            context.logger.debug("loki.write endpoint configured", metadata: ["host": "\(endpoint.options.host)"])
        }
        if arguments.endpoints.isEmpty {
            context.logger.warning("loki.write has no endpoint block: received entries are discarded")
        }
        senders.wake()
    }

    /// Starts one sender per endpoint, and the senders of endpoints added by `update`; when cancelled, stops
    /// intake, lets every sender drain for up to its `drain_timeout` and returns once all have.
    public func run() async throws {
        let senders = await senders.run(context.id, reconcile: startSenders, stopping: receiver.stop)
        for sender in senders { await sender.value }
    }

    /// Starts a sender for each endpoint that needs one; forgets the senders of retired endpoints that finished.
    private func startSenders(_ running: inout [SenderTasks<Endpoint>.Sender]) {
        let toStart = state.withLock { state in
            defer { state.toStart.removeAll() }
            return state.toStart
        }
        running.removeAll { $0.tag.isFinished }
        for endpoint in toStart {
            running.append((endpoint, Task { await endpoint.run() }))
        }
    }
}
