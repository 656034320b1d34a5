@testable import AlloyLanguage
import Foundation
import Synchronization
import Testing
@testable import Pipeline
import PipelineTestSupport
import TestSupport
import Wire

/// `loki.source.kubernetes` against the loopback Kubernetes API server, whose log endpoint streams what the tests
/// append and honours `container`, `timestamps`, `sinceTime` and `follow`.
@Suite struct LokiSourceKubernetesTests {
    /// 2026-12-01T10:00:00Z in nanoseconds.
    static let base = Civil.seconds(year: 2026, month: 12, day: 1, hour: 10, minute: 0, second: 0) * 1_000_000_000

    /// A target as `discovery.kubernetes` and a `discovery.relabel` that copies namespace, pod and container give it.
    static func target(pod: String = "web-1", container: String, uid: String = "u-1", extra: [String: String] = [:]) -> Target {
        var labels = [
            "__meta_kubernetes_namespace": "default", "__meta_kubernetes_pod_name": pod,
            "__meta_kubernetes_pod_container_name": container, "__meta_kubernetes_pod_uid": uid,
            "__meta_kubernetes_pod_label_app": "web", "namespace": "default", "pod": pod, "container": container,
        ]
        labels.merge(extra) { $1 }
        return Target(labels)
    }

    final class Harness: Sendable {
        let component: LokiSourceKubernetes
        let receiver: CollectingReceiver
        private let task: Task<Void, any Error>

        init(api: KubernetesAPIServer, targets: [Target], storage: String, client: String = "", receiver: CollectingReceiver = CollectingReceiver()) throws {
            self.receiver = receiver
            let scope = Scope([
                "out": .capsule(Capsule(LogsReceiverCapsule.self, receiver)),
                "found": targets.value,
            ])
            let config = """
                loki.source.kubernetes "pods" {
                  targets    = found
                  forward_to = [out]
                  client {
                    api_server = "\(api.url)"
                    \(client)
                  }
                }
                """
            let arguments = try ComponentHarness.decode(LokiSourceKubernetes.Arguments.self, config, scope: scope).arguments
            let context = ComponentHarness.context(id: "loki.source.kubernetes.pods", dataPath: storage)
            component = try LokiSourceKubernetes(context: context, arguments: arguments)
            let component = self.component
            task = Task { try await component.run() }
        }

        func update(targets: [Target], api: KubernetesAPIServer, client: String = "") throws {
            let scope = Scope(["out": .capsule(Capsule(LogsReceiverCapsule.self, receiver)), "found": targets.value])
            let config = "loki.source.kubernetes \"pods\" {\n targets = found\n forward_to = [out]\n client {\n api_server = \"\(api.url)\"\n \(client)\n }\n}"
            try component.update(ComponentHarness.decode(LokiSourceKubernetes.Arguments.self, config, scope: scope).arguments)
        }

        func waitForLines(_ count: Int) async -> [String] {
            let receiver = self.receiver
            _ = await eventually { receiver.entries.count >= count }
            return receiver.lines
        }

        func stop() async {
            task.cancel()
            _ = await task.result
        }
    }

    @Test func linesArriveWithTheKubeletTimestampAndAlloysLabels() async throws {
        let api = try await KubernetesAPIServer.start(podList: PodDocuments.list([]))
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        append("t0k\n", to: dir.file("token"))
        api.appendLog(pod: "web-1", container: "nginx", timestamp: Self.base + 123_456_789, line: "GET / 200")
        api.appendLog(pod: "web-1", container: "sidecar", timestamp: Self.base + 5, line: "listening on :9901")
        let targets = [
            Self.target(container: "nginx"),
            Self.target(container: "sidecar", extra: ["job": "envoy", "instance": "edge"]),
            // No UID: not a container Alloy tails.
            Target(["__meta_kubernetes_namespace": "default", "__meta_kubernetes_pod_name": "web-1", "__meta_kubernetes_pod_container_name": "x"]),
        ]
        let harness = try Harness(api: api, targets: targets, storage: dir.path, client: "bearer_token_file = \"\(dir.file("token"))\"")
        _ = await harness.waitForLines(2)
        api.appendLog(pod: "web-1", container: "nginx", timestamp: Self.base + 2_000_000_000, line: "GET /health 200")
        _ = await harness.waitForLines(3)
        let entries = harness.receiver.entries
        let nginx = entries.filter { $0.labels["container"] == "nginx" }
        #expect(nginx.map { String(decoding: $0.line, as: UTF8.self) } == ["GET / 200", "GET /health 200"])
        #expect(nginx.map(\.timestamp) == [Self.base + 123_456_789, Self.base + 2_000_000_000])
        #expect(nginx.first?.labels == LabelSet([
            LabelPair(name: "container", value: "nginx"), LabelPair(name: "instance", value: "default/web-1:nginx"),
            LabelPair(name: "job", value: "loki.source.kubernetes.pods"), LabelPair(name: "namespace", value: "default"),
            LabelPair(name: "pod", value: "web-1"),
        ]))
        let sidecar = try #require(entries.first { $0.labels["container"] == "sidecar" })
        #expect(sidecar.labels["job"] == "envoy" && sidecar.labels["instance"] == "edge")
        #expect(sidecar.timestamp == Self.base + 5)
        #expect(harness.component.tailing == ["default/web-1:nginx", "default/web-1:sidecar"])
        let nginxQuery = try #require(api.logQueries.first { $0.contains("container=nginx") })
        #expect(nginxQuery.contains("follow=true") && nginxQuery.contains("timestamps=true"))
        #expect(!nginxQuery.contains("sinceTime"))
        #expect(api.requests.filter { $0.path.hasSuffix("/log") }.allSatisfy { $0.authorization == "Bearer t0k" })
        #expect(api.requests.contains { $0.path == "/api/v1/namespaces/default/pods/web-1/log" })
        await harness.stop()
        await api.stop()
    }

    @Test func aBrokenStreamIsReopenedFromTheLastLineWithoutDuplicatesOrLoss() async throws {
        let api = try await KubernetesAPIServer.start(podList: PodDocuments.list([]))
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        // Two lines share a timestamp: resuming must tell the sent one from the new one.
        let same = Self.base + 7_000_000_500
        api.appendLog(pod: "web-1", container: "app", timestamp: Self.base + 6_900_000_000, line: "one")
        api.appendLog(pod: "web-1", container: "app", timestamp: same, line: "two")
        let harness = try Harness(api: api, targets: [Self.target(container: "app")], storage: dir.path)
        #expect(await harness.waitForLines(2) == ["one", "two"])
        // The stream breaks in the middle of a line that the kubelet then writes whole.
        api.breakLogStreams(partial: KubernetesAPIServer.rfc3339Nano(same) + " thr")
        api.appendLog(pod: "web-1", container: "app", timestamp: same, line: "three")
        api.appendLog(pod: "web-1", container: "app", timestamp: Self.base + 8_000_000_000, line: "four")
        #expect(await eventually { api.logQueries.count >= 2 })
        #expect(await harness.waitForLines(4) == ["one", "two", "three", "four"])
        // Asked again from the second of the last line sent.
        #expect(api.logQueries[1].contains("sinceTime=2026-12-01T10%3A00%3A07Z"))
        api.breakLogStreams()
        api.appendLog(pod: "web-1", container: "app", timestamp: Self.base + 9_000_000_000, line: "five")
        #expect(await harness.waitForLines(5) == ["one", "two", "three", "four", "five"])
        #expect(harness.receiver.entries.map(\.timestamp) == [
            Self.base + 6_900_000_000, same, same, Self.base + 8_000_000_000, Self.base + 9_000_000_000,
        ])
        await harness.stop()
        await api.stop()
    }

    @Test func aRestartGoesOnFromTheLastDeliveredEntry() async throws {
        let api = try await KubernetesAPIServer.start(podList: PodDocuments.list([]))
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        dir.makeDirectory("first")
        dir.makeDirectory("crashed")
        for (index, line) in ["a", "b"].enumerated() {
            api.appendLog(pod: "web-1", container: "app", timestamp: Self.base + Int64(index) * 1_500_000_000, line: line)
        }
        let holding = CollectingReceiver(holdingAcks: true)
        let first = try Harness(api: api, targets: [Self.target(container: "app")], storage: dir.file("first"), receiver: holding)
        #expect(await first.waitForLines(2) == ["a", "b"])
        holding.releaseAcks()
        // Delivered: the positions file gets the time of "b" (Alloy's microseconds, and Estuary's nanoseconds).
        let positions = dir.file("first/positions.yml")
        #expect(await eventually { (PositionsFile.readText(positions) ?? "").contains("timestamp: \"\(Self.base + 1_500_000_000)\"") })
        #expect(PositionsFile.readText(positions)?.contains("path: \"cursor-default/web-1:app:u-1\"") == true)
        #expect(PositionsFile.readText(positions)?.contains(": \"\((Self.base + 1_500_000_000) / 1000)\"") == true)
        // "c" is sent but never acknowledged: a crash now must not count it as delivered.
        api.appendLog(pod: "web-1", container: "app", timestamp: Self.base + 3_000_000_000, line: "c")
        #expect(await first.waitForLines(3) == ["a", "b", "c"])
        let snapshot = try #require(PositionsFile.readText(positions))
        append(snapshot, to: dir.file("crashed/positions.yml"))

        let second = try Harness(api: api, targets: [Self.target(container: "app")], storage: dir.file("crashed"))
        #expect(await second.waitForLines(1) == ["c"])
        let resumed = try #require(api.logQueries.last)
        #expect(resumed.contains("sinceTime=2026-12-01T10%3A00%3A01Z"))
        await second.stop()
        holding.releaseAcks()
        await first.stop()

        // A clean stop writes what was delivered: the next start sends only what is new.
        api.appendLog(pod: "web-1", container: "app", timestamp: Self.base + 4_000_000_000, line: "d")
        let third = try Harness(api: api, targets: [Self.target(container: "app")], storage: dir.file("crashed"))
        #expect(await third.waitForLines(1) == ["d"])
        await third.stop()
        await api.stop()
    }

    @Test func aRemovedTargetStopsItsTailAndForgetsItsPosition() async throws {
        let api = try await KubernetesAPIServer.start(podList: PodDocuments.list([]))
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        api.appendLog(pod: "web-1", container: "app", timestamp: Self.base, line: "app 1")
        api.appendLog(pod: "web-2", container: "app", timestamp: Self.base, line: "other 1")
        let targets = [Self.target(container: "app"), Self.target(pod: "web-2", container: "app", uid: "u-2")]
        let harness = try Harness(api: api, targets: targets, storage: dir.path)
        _ = await harness.waitForLines(2)
        #expect(await eventually { (PositionsFile.readText(dir.file("positions.yml")) ?? "").contains("web-2") })
        try harness.update(targets: [targets[0]], api: api)
        #expect(await eventually { harness.component.tailing == ["default/web-1:app"] })
        // Every stream ends: only the remaining target asks again.
        let asked = api.logQueries.count
        api.appendLog(pod: "web-2", container: "app", timestamp: Self.base + 1_000_000_000, line: "other 2")
        api.breakLogStreams()
        #expect(await eventually { api.logQueries.count > asked })
        api.appendLog(pod: "web-1", container: "app", timestamp: Self.base + 1_000_000_000, line: "app 2")
        _ = await harness.waitForLines(3)
        #expect(Set(harness.receiver.lines) == ["app 1", "other 1", "app 2"])
        #expect(!api.requests.dropFirst(2).contains { $0.path.contains("/web-2/") })
        #expect(await eventually { !(PositionsFile.readText(dir.file("positions.yml")) ?? "web-2").contains("web-2") })
        await harness.stop()
        await api.stop()
    }

    @Test func aPositionsFileWrittenByAlloyIsReadAndTheLastMicrosecondIsSentAgain() async throws {
        let api = try await KubernetesAPIServer.start(podList: PodDocuments.list([]))
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let second = Self.base + 1_000_000_000
        for (offset, line) in [(-1_000, "old"), (400, "x"), (900, "y"), (1_000_000_000, "z")] {
            api.appendLog(pod: "web-1", container: "app", timestamp: second + Int64(offset), line: line)
        }
        // Alloy's entry: the cursor key, the labels, and the time of "x" in microseconds, nothing else.
        let key = try KubernetesLogTarget(Self.target(container: "app"), defaultJob: "loki.source.kubernetes.pods").positionsKey
        try PositionsFile(path: dir.file("positions.yml")).save([key: PositionsFile.Position(offset: (second + 400) / 1000, identity: nil)])
        #expect(PositionsFile.readText(dir.file("positions.yml"))?.contains("timestamp") == false)
        let harness = try Harness(api: api, targets: [Self.target(container: "app")], storage: dir.path)
        #expect(await harness.waitForLines(3) == ["x", "y", "z"])
        #expect(api.logQueries.first?.contains("sinceTime=2026-12-01T10%3A00%3A01Z") == true)
        await harness.stop()
        await api.stop()
    }

    @Test func aNewClientBlockRestartsTheTailsFromWhereTheyWere() async throws {
        let api = try await KubernetesAPIServer.start(podList: PodDocuments.list([]))
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        api.appendLog(pod: "web-1", container: "app", timestamp: Self.base + 1_500_000_000, line: "a")
        let harness = try Harness(api: api, targets: [Self.target(container: "app")], storage: dir.path)
        #expect(await harness.waitForLines(1) == ["a"])
        try harness.update(targets: [Self.target(container: "app")], api: api, client: "bearer_token = \"rotated\"")
        #expect(await eventually { api.requests.contains { $0.authorization == "Bearer rotated" } })
        let renewed = try #require(api.requests.first { $0.authorization == "Bearer rotated" })
        #expect(renewed.query.contains("sinceTime=2026-12-01T10%3A00%3A01Z"))
        api.appendLog(pod: "web-1", container: "app", timestamp: Self.base + 2_000_000_000, line: "b")
        #expect(await harness.waitForLines(2) == ["a", "b"])
        await harness.stop()
        await api.stop()
    }

    @Test func aLineWithoutATimestampIsSentWholeWithTheTimeItWasRead() async throws {
        let api = try await KubernetesAPIServer.start(podList: PodDocuments.list([]))
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        api.appendLog(pod: "web-1", container: "app", timestamp: Self.base, line: "first")
        let before = KubernetesLogTailer.wallClock()
        api.appendRawLog(pod: "web-1", container: "app", timestamp: Self.base, bytes: Array("no timestamp here\n".utf8))
        api.appendRawLog(pod: "web-1", container: "app", timestamp: Self.base, bytes: Array("2026-13-01T00:00:00Z bad month\n".utf8))
        api.appendLog(pod: "web-1", container: "app", timestamp: Self.base + 1, line: "after")
        let harness = try Harness(api: api, targets: [Self.target(container: "app")], storage: dir.path)
        #expect(await harness.waitForLines(4) == ["first", "no timestamp here", "2026-13-01T00:00:00Z bad month", "after"])
        let after = KubernetesLogTailer.wallClock()
        let entries = harness.receiver.entries
        #expect(entries[1].timestamp >= before && entries[1].timestamp <= after)
        #expect(entries[2].timestamp >= before && entries[2].timestamp <= after)
        // The read time does not move the resume point: "after" (older than now) is still sent.
        #expect(entries[3].timestamp == Self.base + 1)
        await harness.stop()
        await api.stop()
    }

    @Test func randomBytesOnTheStreamDoNotStopTheTail() async throws {
        let api = try await KubernetesAPIServer.start(podList: PodDocuments.list([]))
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var random = SeededRandom(seed: FuzzBudget.seed(29))
        var garbage: [UInt8] = []
        for _ in 0..<50 { garbage += random.bytes(random.int(0...300)) + [0x0A] }
        api.appendRawLog(pod: "web-1", container: "app", timestamp: Self.base, bytes: garbage)
        api.appendLog(pod: "web-1", container: "app", timestamp: Self.base + 1, line: "still here")
        let harness = try Harness(api: api, targets: [Self.target(container: "app")], storage: dir.path)
        #expect(await eventually { harness.receiver.lines.contains("still here") })
        #expect(harness.receiver.entries.count >= 50)
        await harness.stop()
        await api.stop()
    }

    @Test func clusteringIsReadAndAMissingServerIsAClearError() throws {
        let base = "loki.source.kubernetes \"x\" {\n targets = []\n forward_to = []\n"
        let clustered = try ComponentHarness.decode(LokiSourceKubernetes.Arguments.self, base + "client {\n api_server = \"http://a\"\n }\n clustering {\n enabled = true\n }\n}").arguments
        #expect(clustered.clustered)
        #expect(ComponentHarness.problem(LokiSourceKubernetes.Arguments.self, base + "client {\n api_server = \"http://a\"\n }\n clustering {\n enabled = \"yes\"\n }\n}") != nil)
        #expect(ComponentHarness.problem(LokiSourceKubernetes.Arguments.self, base + "client {\n api_server = \"http://a\"\n }\n clustering {\n enabled = false\n }\n}") == nil)
        #expect(ComponentHarness.problem(LokiSourceKubernetes.Arguments.self, base + "}")?
            .contains("api_server is required outside a Kubernetes pod") == true)
        #expect(ComponentHarness.problem(LokiSourceKubernetes.Arguments.self, base + "client {\n api_server = \"http://a\"\n kubeconfig_file = \"/k\"\n }\n}")?
            .contains("kubeconfig_file is not supported yet") == true)
    }

    @Test func targetsArePreparedAsAlloyDoes() throws {
        let plain = try KubernetesLogTarget(Self.target(container: "app"), defaultJob: "loki.source.kubernetes.x")
        #expect(plain.labels["job"] == "loki.source.kubernetes.x")
        #expect(plain.labels["instance"] == "default/web-1:app")
        #expect(plain.labels.pairs.allSatisfy { !$0.name.hasPrefix("__") })
        #expect(plain.positionsKey.path == "cursor-default/web-1:app:u-1")
        // The `__pod_*__` labels win over the discovery ones.
        let named = try KubernetesLogTarget(
            Self.target(container: "app", extra: ["__pod_name__": "other", "__pod_uid__": "u-9"]), defaultJob: "j")
        #expect(named.pod == "other" && named.uid == "u-9" && named.container == "app")
        #expect(throws: KubernetesLogTarget.Refusal.self) {
            try KubernetesLogTarget(Target(["__meta_kubernetes_namespace": "a", "__meta_kubernetes_pod_name": "b", "__meta_kubernetes_pod_uid": "c"]), defaultJob: "j")
        }
    }

    @Test(arguments: [
        // (resume, timestamps of the lines read, those sent)
        (nil, [5, 5, 6], [5, 5, 6]),
        (KubernetesLogResume(timestamp: 5, entriesAtTimestamp: 1), [4, 5, 5, 6], [5, 6]),
        (KubernetesLogResume(timestamp: 5, entriesAtTimestamp: 2), [5, 5, 5], [5]),
        (KubernetesLogResume(timestamp: 5, entriesAtTimestamp: 0), [5, 6, 3], [5, 6]),
    ] as [(KubernetesLogResume?, [Int64], [Int64])])
    func theResumeFilterSkipsWhatWasSent(start: KubernetesLogResume?, read: [Int64], sent: [Int64]) {
        var filter = KubernetesLogResumeFilter(start)
        #expect(read.filter { filter.admit($0) } == sent)
    }

    @Test func sinceTimeIsTheWholeSecondAtOrBefore() {
        #expect(KubernetesLogLines.sinceTime(Self.base + 7_999_999_999) == "2026-12-01T10:00:07Z")
        #expect(KubernetesLogLines.sinceTime(0) == "1970-01-01T00:00:00Z")
        #expect(KubernetesLogLines.sinceTime(-1) == "1969-12-31T23:59:59Z")
    }

    @Test func linesSplitTheSameHoweverTheStreamIsCut() {
        var random = SeededRandom(seed: FuzzBudget.seed(17))
        for _ in 0..<FuzzBudget.scaled(300) {
            var stream: [UInt8] = []
            var expected: [KubernetesLogLines.Line] = []
            for _ in 0..<random.int(0...12) {
                let timestamp = Self.base + Int64(random.int(0...1_000_000_000))
                let text = (0..<random.int(0...40)).map { _ in UInt8(random.int(0x21...0x7E)) }
                stream += Array((KubernetesAPIServer.rfc3339Nano(timestamp) + " ").utf8) + text + [0x0A]
                expected.append(KubernetesLogLines.Line(timestamp: timestamp, text: text))
            }
            var splitter = KubernetesLogLines()
            var lines: [KubernetesLogLines.Line] = []
            var offset = 0
            while offset < stream.count {
                let end = min(stream.count, offset + random.int(1...30))
                splitter.feed(stream[offset..<end], into: &lines)
                offset = end
            }
            #expect(lines == expected)
            #expect(splitter.pendingBytes == 0)
        }
    }

    @Test func hostileBytesNeverCrashAndStayBounded() {
        var random = SeededRandom(seed: FuzzBudget.seed(23))
        let limit = 256
        for _ in 0..<FuzzBudget.scaled(2000) {
            var splitter = KubernetesLogLines(maxLineBytes: limit)
            var lines: [KubernetesLogLines.Line] = []
            var fed = 0
            var newlines = 0
            for _ in 0..<random.int(1...8) {
                var bytes = random.bytes(random.int(0...700))
                if random.chance(50) {
                    // Near-valid: a timestamp, mutated.
                    var text = Array("2026-12-01T10:00:00.123456789+01:00 x".utf8)
                    for _ in 0..<random.int(0...3) { text[random.int(0...(text.count - 1))] = UInt8.random(in: 0...255, using: &random) }
                    bytes = text + bytes
                }
                fed += bytes.count
                newlines += bytes.count { $0 == 0x0A }
                splitter.feed(bytes, into: &lines)
                #expect(splitter.pendingBytes < limit)
            }
            #expect(lines.allSatisfy { $0.text.count <= limit })
            #expect(lines.count >= newlines)
            // Nothing is invented or lost: every byte but the newlines and the parsed timestamps is accounted for.
            let kept = lines.reduce(0) { $0 + $1.text.count } + splitter.pendingBytes
            #expect(kept <= fed - newlines)
        }
        var parsed = KubernetesLogLines.parse(ArraySlice("2026-12-01T10:00:00+01:00 shifted".utf8))
        #expect(parsed.timestamp == Self.base - 3_600_000_000_000 && parsed.text == Array("shifted".utf8))
        parsed = KubernetesLogLines.parse(ArraySlice("2026-12-01T10:00:00Z".utf8))
        #expect(parsed.timestamp == nil && parsed.text == Array("2026-12-01T10:00:00Z".utf8))
    }
}
