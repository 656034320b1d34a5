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
    private let wake: AsyncStream<Void>.Continuation
    private let wakes: AsyncStream<Void>

    private enum Phase {
        case created
        case running
        case stopped
    }

    private struct State {
        var phase = Phase.created
        /// The endpoints of the current arguments.
        var endpoints: [EndpointKey: Endpoint] = [:]
        /// Endpoints whose sender `run()` has yet to start (new ones, and ones retired before `run()` began).
        var toStart: [Endpoint] = []
        /// Every started sender, retired ones included until they finish.
        var senders: [(endpoint: Endpoint, task: Task<Void, Never>)] = []
    }

    public init(context: ComponentContext, arguments: Arguments) throws {
        self.context = context
        receiver = Receiver(componentID: context.id)
        exports = ValueObject([("receiver", .capsule(Capsule(typeName: "loki.LogsReceiver", object: receiver)))])
        let stream = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        wakes = stream.stream
        wake = stream.continuation
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
        wake.yield()
    }

    /// Starts one sender per endpoint, and the senders of endpoints added by `update`; when cancelled, stops
    /// intake, lets every sender drain for up to its `drain_timeout` and returns once all have.
    public func run() async throws {
        let first = state.withLock { state -> Bool in
            guard state.phase == .created else { return false }
            state.phase = .running
            return true
        }
        guard first else { preconditionFailure("\(context.id): run() is started once per component") }
        startSenders()
        for await _ in wakes { startSenders() }
        // Cancelled: refuse new entries, close every queue, and wait for the senders to drain.
        receiver.stop()
        startSenders()
        let senders = state.withLock { state -> [Task<Void, Never>] in
            state.phase = .stopped
            return state.senders.map(\.task)
        }
        for sender in senders { await sender.value }
    }

    private func startSenders() {
        state.withLock { state in
            guard state.phase == .running else { return }
            state.senders.removeAll { $0.endpoint.isFinished }
            for endpoint in state.toStart {
                state.senders.append((endpoint, Task { await endpoint.run() }))
            }
            state.toStart.removeAll()
        }
    }
}
