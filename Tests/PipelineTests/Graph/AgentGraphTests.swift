@testable import AlloyLanguage
import AsyncHTTPClient
import Foundation
import Logging
import Prometheus
import Synchronization
import Testing
import Wire
@testable import Pipeline
import TestSupport

/// Components that exist only for these tests, to observe what the graph does: `test.sink` collects what it receives
/// and counts how often it was created, updated and run; `test.source` sends one entry with its `line` to
/// `forward_to` whenever asked.
private final class TestSink: Component, LogsReceiver {
    static let name = "test.sink"
    static let created = Mutex<[String: Int]>([:])

    struct Arguments: ComponentArguments {
        var tag: String
        /// Makes `run()` throw, so that the component turns unhealthy.
        var fail: Bool
        init(_ reader: ArgumentReader) throws(Diagnostic) {
            tag = try reader.string("tag", default: "")
            fail = try reader.bool("fail", default: false)
        }
    }

    let id: String
    let received = Mutex<[String]>([])
    let updates = Mutex<[String]>([])
    let running = Mutex(false)
    let fails = Mutex(false)
    var exports: ValueObject {
        ValueObject([("receiver", .capsule(Capsule(LogsReceiverCapsule.self, self)))])
    }

    init(context: ComponentContext, arguments: Arguments) throws {
        id = context.id
        Self.created.withLock { $0[context.id, default: 0] += 1 }
        try update(arguments)
    }

    func update(_ arguments: Arguments) throws {
        updates.withLock { $0.append(arguments.tag) }
        fails.withLock { $0 = arguments.fail }
    }

    struct Failure: Error {}

    func run() async throws {
        if fails.withLock({ $0 }) { throw Failure() }
        running.withLock { $0 = true }
        defer { running.withLock { $0 = false } }
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(60)) }  // not-a-wait: idles until cancelled, as a component does
    }

    /// Entries that arrived after `run()` had returned: a stopped component taking entries it will not handle.
    let receivedAfterStop = Mutex(0)

    func receive(_ batch: LogBatch) async throws {
        received.withLock { $0.append(contentsOf: batch.entries.map { String(decoding: $0.line, as: UTF8.self) }) }
        if !running.withLock({ $0 }) { receivedAfterStop.withLock { $0 += batch.entries.count } }
    }
}

private final class TestSource: Component, CapsuleKind {
    typealias Payload = TestSource
    static let typeName = "test.Source"

    static let name = "test.source"

    struct Arguments: ComponentArguments {
        var line: String
        var forwardTo: LogsReceivers
        init(_ reader: ArgumentReader) throws(Diagnostic) {
            line = try reader.requiredString("line")
            forwardTo = try reader.logsReceivers("forward_to")
        }
        func validate() throws(ArgumentError) {
            if line.isEmpty { throw ArgumentError("line must not be empty") }
        }
    }

    let arguments: Mutex<Arguments>
    /// Exported only so that tests can reach the instance.
    var exports: ValueObject { ValueObject([("handle", .capsule(TestSource.self, self))]) }

    init(context: ComponentContext, arguments: Arguments) throws {
        self.arguments = Mutex(arguments)
        try update(arguments)
    }

    func update(_ arguments: Arguments) throws {
        self.arguments.withLock { $0 = arguments }
    }

    /// A source whose line starts with `on-stop` sends it once more when stopped, as a receiver answers the requests
    /// it took before it closed.
    func run() async throws {
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(60)) }  // not-a-wait: idles until cancelled, as a component does
        if arguments.withLock({ $0.line.hasPrefix("on-stop") }) { try await emit() }
    }

    func emit() async throws {
        let (line, targets) = arguments.withLock { ($0.line, $0.forwardTo) }
        try await targets.send(LogBatch(entries: [LogEntry(timestamp: 1, line: Array(line.utf8), labels: LabelSet([]))]))
    }
}

@Suite(.serialized) struct AgentGraphTests {
    static let registry = ComponentRegistry([TestSink.self, TestSource.self])

    private func makeGraph() -> AgentGraph {
        AgentGraph(registry: Self.registry, storagePath: NSTemporaryDirectory(), logger: Logger(label: "test"),
                   metrics: PrometheusCollectorRegistry(), httpClient: .shared)
    }

    private func parse(_ text: String) throws(Diagnostics) -> AlloyFile {
        try AlloyParser.parse(name: "test.alloy", text: text)
    }

    private func problems(_ text: String) async throws -> [String] {
        let graph = makeGraph()
        do throws(Diagnostics) {
            try await graph.load(try parse(text))
        } catch {
            return error.items.map { "\($0.range.start.line):\($0.range.start.column): \($0.message)" }
        }
        return []
    }

    private func handle<T>(_ graph: AgentGraph, _ id: String, as type: T.Type) async -> T? {
        let infos = await graph.components()
        for info in infos where info.id == id {
            for (key, value) in info.exports.pairs where key == "receiver" || key == "handle" {
                guard case .capsule(let capsule) = value else { continue }
                if let receiver = capsule.payload(LogsReceiverCapsule.self) { return receiver as? T }
                if let source = capsule.payload(TestSource.self) { return source as? T }
            }
        }
        return nil
    }

    @Test func healthIsExportedAsAlloysControllerGauge() async throws {
        let registry = PrometheusCollectorRegistry()
        let graph = AgentGraph(registry: Self.registry, storagePath: NSTemporaryDirectory(), logger: Logger(label: "test"),
                               metrics: registry, httpClient: .shared)
        try await graph.load(try parse("""
            test.sink "ok" {}
            test.sink "also_ok" {}
            test.sink "bad" { fail = true }
            """))
        let gauge: @Sendable (String) -> String? = { health in
            var text: [UInt8] = []
            registry.emit(into: &text)
            let prefix = #"alloy_component_controller_running_components{health_type="\#(health)"} "#
            return String(decoding: text, as: UTF8.self).split(separator: "\n")
                .first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        }
        try await waitUntil { gauge("unhealthy") == "1.0" }
        #expect(gauge("healthy") == "2.0")
        #expect(gauge("exited") == "0.0")
        #expect(await !graph.isHealthy())

        // A reload starts the failed component's run() again; fixed, it stays up.
        try await graph.load(try parse("""
            test.sink "ok" {}
            test.sink "also_ok" {}
            test.sink "bad" { fail = false }
            """))
        let bad = try #require(await handle(graph, "test.sink.bad", as: TestSink.self))
        try await waitUntil { bad.running.withLock { $0 } }
        #expect(gauge("healthy") == "3.0")
        #expect(await graph.isHealthy())
        await graph.stop()
    }

    /// Stopping goes from the components that reference others to those they reference: what a source hands on
    /// while it stops reaches a sink that is still running.
    @Test func stopsDependantsBeforeTheirDependencies() async throws {
        let graph = makeGraph()
        try await graph.load(try parse("""
            test.sink "z" {}
            test.source "a" {
              line       = "on-stop last words"
              forward_to = [test.sink.z.receiver]
            }
            """))
        let sink = try #require(await handle(graph, "test.sink.z", as: TestSink.self))
        try await waitUntil { sink.running.withLock { $0 } }
        await graph.stop()
        #expect(sink.received.withLock { $0 } == ["on-stop last words"])
        #expect(sink.receivedAfterStop.withLock { $0 } == 0)
    }

    @Test func referencesWireComponentsInDependencyOrder() async throws {
        let graph = makeGraph()
        try await graph.load(try parse("""
            test.source "a" {
              line       = "hello"
              forward_to = [test.sink.x.receiver, test.sink.y.receiver]
            }
            test.sink "x" { tag = "one" }
            test.sink "y" {}
            """))
        let infos = await graph.components()
        #expect(infos.map(\.id) == ["test.sink.x", "test.sink.y", "test.source.a"])
        #expect(infos.last?.dependencies == ["test.sink.x", "test.sink.y"])
        #expect(infos.first?.dependants == ["test.source.a"])
        let x = try #require(await handle(graph, "test.sink.x", as: TestSink.self))
        let y = try #require(await handle(graph, "test.sink.y", as: TestSink.self))
        let source = try #require(await handle(graph, "test.source.a", as: TestSource.self))
        try await source.emit()
        #expect(x.received.withLock { $0 } == ["hello"])
        #expect(y.received.withLock { $0 } == ["hello"])
        await graph.stop()
    }

    @Test func structuralErrorsAreReportedTogetherWithPositions() async throws {
        let found = try await problems("""
            test.sink "a" {}
            test.sink "a" {}
            test.nope "b" {}
            test.sink {}
            test.source "s" {
              line       = "x"
              forward_to = [test.sink.missing.receiver]
            }
            """)
        #expect(found.count == 4)
        #expect(found.contains { $0.hasPrefix("2:1: component test.sink.a declared more than once") })
        #expect(found.contains { $0.hasPrefix("3:1: unrecognized component name \"test.nope\"") })
        #expect(found.contains { $0.hasPrefix("4:1: component \"test.sink\" must have a label") })
        #expect(found.contains { $0.hasPrefix("7:17: component \"test.sink.missing.receiver\" does not exist or is out of scope") })
    }

    @Test func cyclesAreStartUpErrors() async throws {
        let found = try await problems("""
            test.source "a" {
              line       = "x"
              forward_to = [test.source.b.receiver]
            }
            test.source "b" {
              line       = "y"
              forward_to = [test.source.a.receiver]
            }
            """)
        #expect(found.count == 1)
        #expect(found.first?.contains("cycle detected: test.source.a -> test.source.b -> test.source.a") == true)
    }

    @Test func argumentErrorsNameTheAttribute() async throws {
        let found = try await problems("""
            test.sink "a" {
              tag   = 5
              color = "red"
            }
            test.source "b" {
              forward_to = []
            }
            test.source "c" {
              line = ""
            }
            """)
        #expect(found.contains("2:11: tag: expected string, got number"))
        #expect(found.contains("6:3: missing required attribute \"line\" in test.source.b") || found.contains { $0.contains("missing required attribute \"line\"") })
        #expect(found.contains { $0.contains("line must not be empty") })
    }

    @Test func unknownAttributesAndBlocksAreErrors() async throws {
        let found = try await problems("""
            test.sink "a" {
              tag   = "t"
              color = "red"
              extra {}
            }
            """)
        #expect(found == [
            "3:3: unrecognized attribute name \"color\" in test.sink.a",
            "4:3: unrecognized block name \"extra\" in test.sink.a",
        ])
    }

    @Test func reloadKeepsUnchangedComponentsAndReplacesTheRest() async throws {
        TestSink.created.withLock { $0 = [:] }
        let graph = makeGraph()
        try await graph.load(try parse("""
            test.sink "keep" { tag = "k" }
            test.sink "change" { tag = "v1" }
            test.sink "remove" {}
            """))
        let keep = try #require(await handle(graph, "test.sink.keep", as: TestSink.self))
        let change = try #require(await handle(graph, "test.sink.change", as: TestSink.self))
        let remove = try #require(await handle(graph, "test.sink.remove", as: TestSink.self))
        try await waitUntil { remove.running.withLock { $0 } }

        try await graph.load(try parse("""
            test.sink "keep" { tag = "k" }
            test.sink "change" { tag = "v2" }
            test.sink "added" {}
            """))
        #expect(await graph.components().map(\.id) == ["test.sink.keep", "test.sink.change", "test.sink.added"])
        #expect(await handle(graph, "test.sink.keep", as: TestSink.self) === keep)
        #expect(await handle(graph, "test.sink.change", as: TestSink.self) === change)
        #expect(keep.updates.withLock { $0 } == ["k"])
        #expect(change.updates.withLock { $0 } == ["v1", "v2"])
        #expect(!remove.running.withLock { $0 })
        #expect(TestSink.created.withLock { $0 } == ["test.sink.keep": 1, "test.sink.change": 1, "test.sink.remove": 1,
                                                     "test.sink.added": 1])
        await graph.stop()
    }

    @Test func aBadReloadLeavesTheRunningGraphAlone() async throws {
        let graph = makeGraph()
        try await graph.load(try parse("""
            test.sink "a" { tag = "one" }
            """))
        let before = try #require(await handle(graph, "test.sink.a", as: TestSink.self))
        var failed = false
        do throws(Diagnostics) {
            try await graph.load(try parse("""
                test.sink "a" { tag = "two" }
                test.sink "b" { tag = 3 }
                """))
        } catch {
            failed = true
            #expect(error.description.contains("test.alloy:2:23"))
        }
        #expect(failed)
        #expect(await graph.components().map(\.id) == ["test.sink.a"])
        #expect(await handle(graph, "test.sink.a", as: TestSink.self) === before)
        #expect(before.updates.withLock { $0 } == ["one"])
        await graph.stop()
    }

    @Test func uiAPIShapesComponentsAsAlloyDoes() async throws {
        let graph = makeGraph()
        try await graph.load(try parse("""
            test.sink "x" { tag = "t" }
            test.source "a" {
              line       = "hello"
              forward_to = [test.sink.x.receiver]
            }
            """))
        var json = JSONWriter()
        json.array(await graph.components()) { $0.component($1) }
        let decoded = try JSONSerialization.jsonObject(with: Data(json.bytes)) as? [[String: Any]]
        let source = try #require(decoded?.first { $0["localID"] as? String == "test.source.a" })
        #expect(source["name"] as? String == "test.source")
        #expect(source["label"] as? String == "a")
        #expect(source["referencesTo"] as? [String] == ["test.sink.x"])
        #expect((source["health"] as? [String: Any])?["state"] as? String == "healthy")
        let arguments = try #require(source["arguments"] as? [[String: Any]])
        #expect(arguments.first?["name"] as? String == "line")
        #expect((arguments.first?["value"] as? [String: Any])?["value"] as? String == "hello")
        let forward = try #require((arguments.last?["value"] as? [String: Any])?["value"] as? [[String: Any]])
        #expect(forward.first?["type"] as? String == "capsule")
        await graph.stop()
    }

    private func waitUntil(_ condition: @Sendable () -> Bool) async throws {
        guard await eventually(condition) else { throw CancellationError() }
    }
}

