import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import Prometheus
import Synchronization
import Testing
import Wire
@testable import Pipeline

/// The receiver's listener: it stops gracefully, rebinds on a changed endpoint, and fails `run()` when it cannot bind.
@Suite struct OTelColReceiverOTLPTests {
    /// Holds each `consume` until the test opens the gate once per call; records the bodies it let through.
    final class GatedConsumer: OTLPLogsConsumer {
        private let gate: AsyncStream<Void>
        private let state = Mutex<(arrivals: Int, bodies: [String])>((0, []))

        init(gate: AsyncStream<Void>) { self.gate = gate }

        var arrivals: Int { state.withLock { $0.arrivals } }
        var bodies: [String] { state.withLock { $0.bodies } }

        func consume(_ logs: OTLPLogsData) async throws {
            state.withLock { $0.arrivals += 1 }
            var waiting = gate.makeAsyncIterator()
            _ = await waiting.next()
            let bodies = logs.resourceLogs.flatMap(\.scopeLogs).flatMap(\.logRecords).map { record -> String in
                if case .string(let text) = record.body { return text }
                return ""
            }
            state.withLock { $0.bodies += bodies }
        }
    }

    static func config(endpoint: String = "127.0.0.1:0") -> String {
        """
        otelcol.receiver.otlp "test" {
          http {
            endpoint = "\(endpoint)"
          }
          output {
            logs = [sink]
          }
        }
        """
    }

    static func make(_ config: String, sink: some OTLPLogsConsumer) throws -> OTelColReceiverOTLP {
        let scope = Scope(["sink": .capsule(Capsule(typeName: "otelcol.Consumer", object: sink))])
        let (id, arguments) = try ComponentConfig.decode(OTelColReceiverOTLP.Arguments.self, config, scope: scope)
        var logger = Logger(label: id)
        logger.logLevel = .critical
        let context = ComponentContext(
            id: id, dataPath: NSTemporaryDirectory(), logger: logger, metrics: PrometheusCollectorRegistry(),
            httpClient: HTTPClient.shared, exportsChanged: { _ in })
        return try OTelColReceiverOTLP(context: context, arguments: arguments)
    }

    static func decode(_ config: String, sink: some OTLPLogsConsumer) throws -> OTelColReceiverOTLP.Arguments {
        let scope = Scope(["sink": .capsule(Capsule(typeName: "otelcol.Consumer", object: sink))])
        return try ComponentConfig.decode(OTelColReceiverOTLP.Arguments.self, config, scope: scope).arguments
    }

    static func send(_ port: Int, _ line: String, timeout: TimeAmount = .seconds(60)) async throws -> Int {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/logs")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-protobuf")
        let logs = OTLPLogsData(resourceLogs: [OTLPResourceLogs(scopeLogs: [
            OTLPScopeLogs(logRecords: [OTLPLogRecord(timeUnixNano: 1, body: .string(line))]),
        ])])
        request.body = .bytes(ByteBuffer(bytes: OTLPProtobuf.encodeLogsRequest(logs)))
        return Int(try await HTTPClient.shared.execute(request, timeout: timeout).status.code)
    }

    /// Waits (bounded) until a fresh connection to `port` is refused: the listener stopped accepting.
    static func refusesConnections(_ port: Int) async -> Bool {
        for _ in 0..<50 {
            do {
                _ = try await send(port, "probe", timeout: .milliseconds(200))
            } catch {
                return true
            }
        }
        return false
    }

    @Test func stoppingLetsARequestInFlightFinish() async throws {
        let (gate, open) = AsyncStream<Void>.makeStream()
        let sink = GatedConsumer(gate: gate)
        let receiver = try Self.make(Self.config(), sink: sink)
        let running = Task { try await receiver.run() }
        #expect(await eventually { receiver.listeningPort != nil })
        let port = try #require(receiver.listeningPort)
        let push = Task { try await Self.send(port, "in flight") }
        #expect(await eventually { sink.arrivals == 1 })
        // What the graph does when the component is removed or the agent stops.
        running.cancel()
        #expect(await Self.refusesConnections(port))
        open.yield()
        #expect(try await push.value == 200)
        #expect(sink.bodies == ["in flight"])
        let outcome = await running.result
        #expect(throws: Never.self) { try outcome.get() }
        #expect(receiver.listeningPort == nil)
        open.finish()
    }

    @Test func aChangedEndpointRebindsAndTheOldPortCloses() async throws {
        let (gate, open) = AsyncStream<Void>.makeStream()
        let sink = GatedConsumer(gate: gate)
        let receiver = try Self.make(Self.config(), sink: sink)
        let running = Task { try await receiver.run() }
        #expect(await eventually { receiver.listeningPort != nil })
        let old = try #require(receiver.listeningPort)
        try receiver.update(Self.decode(Self.config(endpoint: "127.0.0.2:0"), sink: sink))
        #expect(await eventually { receiver.listeningPort != nil && receiver.listeningPort != old })
        let new = try #require(receiver.listeningPort)
        open.yield()
        var request = HTTPClientRequest(url: "http://127.0.0.2:\(new)/v1/logs")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"moved"}}]}]}]}"#))
        #expect(try await HTTPClient.shared.execute(request, timeout: .seconds(60)).status.code == 200)
        #expect(sink.bodies == ["moved"])
        #expect(await Self.refusesConnections(old))
        running.cancel()
        _ = await running.result
        open.finish()
    }

    @Test func aPortInUseMakesRunFail() async throws {
        let (gate, open) = AsyncStream<Void>.makeStream()
        defer { open.finish() }
        let sink = GatedConsumer(gate: gate)
        let first = try Self.make(Self.config(), sink: sink)
        let running = Task { try await first.run() }
        #expect(await eventually { first.listeningPort != nil })
        let port = try #require(first.listeningPort)
        let second = try Self.make(Self.config(endpoint: "127.0.0.1:\(port)"), sink: sink)
        let error = await #expect(throws: HTTPListenerLoop.ListenerError.self) { try await second.run() }
        #expect(error?.message.contains("listening on 127.0.0.1:\(port) failed") == true)
        running.cancel()
        _ = await running.result
    }
}
