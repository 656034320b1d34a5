import Hummingbird
import Logging

/// Serves `router` on an ephemeral loopback port for a test peer (FakeLoki, OTLPRecorder, KubernetesAPIServer):
/// the bound port, once listening, and the task running the server (cancel it to stop).
func startLoopbackServer(_ router: Router<BasicRequestContext>, label: String) async -> (port: Int, server: Task<Void, any Error>) {
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
    let server = Task { try await app.run() }
    var port = 0
    for await value in ports { port = value }
    return (port, server)
}
