import Hummingbird
import Logging
import ServiceLifecycle

/// A test peer's HTTP server (FakeLoki, OTLPRecorder, KubernetesAPIServer) on an ephemeral loopback port.
///
/// It stops gracefully: cancelling the task that runs a Hummingbird server can trap in NIO ("Deinited
/// NIOAsyncWriter without calling finish()") when a connection was accepted but not yet served, which is exactly
/// what a client under test that keeps reconnecting makes likely (apple/swift-nio#3481).
struct LoopbackServer: Sendable {
    let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// Serves `router` and returns once it listens.
    static func start(_ router: Router<BasicRequestContext>, label: String) async -> LoopbackServer {
        var logger = Logger(label: label)
        logger.logLevel = .critical
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
            onServerRunning: { channel in
                portSink.yield(channel.localAddress?.port ?? 0)
                portSink.finish()
            },
            logger: logger)
        var configuration = ServiceGroupConfiguration(services: [app], logger: logger)
        // A request that never ends must not hold the test: past this the server is cancelled after all.
        configuration.maximumGracefulShutdownDuration = .seconds(10)
        let group = ServiceGroup(configuration: configuration)
        let task = Task { try await group.run() }
        var port = 0
        for await value in ports { port = value }
        return LoopbackServer(port: port, group: group, task: task)
    }

    /// Stops accepting, lets requests in flight finish, and returns when the server has stopped.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}
