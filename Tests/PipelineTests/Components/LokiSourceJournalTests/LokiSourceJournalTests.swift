@testable import AlloyLanguage
import Glibc
import Prometheus
import Synchronization
import Testing
@testable import Pipeline
import Wire
import PipelineTestSupport
import TestSupport

/// Journal files written by systemd's own `systemd-journal-remote` from known entries (journal export format), read
/// back through libsystemd as the agent reads a node's journal. `scripts/test` installs the Debian package.
@Suite struct LokiSourceJournalTests {
    static let journalRemote = "/lib/systemd/systemd-journal-remote"

    /// Writes `entries` (field → value, in order) as a journal file `name` in `directory`.
    static func writeJournal(_ entries: [[(String, String)]], directory: String, name: String) throws {
        var export = ""
        let now = Int64(time(nil)) * 1_000_000
        for (index, fields) in entries.enumerated() {
            export += "__REALTIME_TIMESTAMP=\(now - Int64(entries.count - index) * 1000)\n"
            export += "__MONOTONIC_TIMESTAMP=\(1000 + index)\n"
            export += "_BOOT_ID=0123456789abcdef0123456789abcdef\n"
            for (field, value) in fields { export += "\(field)=\(value)\n" }
            export += "\n"
        }
        let input = directory + "/" + name + ".export"
        append(export, to: input)
        let status = system("\(journalRemote) -o '\(directory)/\(name).journal' '\(input)' >/dev/null 2>&1")
        unlink(input)
        guard status == 0 else { throw ComponentHarness.Problem("systemd-journal-remote failed (\(status))") }
    }

    final class Harness: Sendable {
        let component: LokiSourceJournal
        let receiver = CollectingReceiver()
        private let task = Mutex<Task<Void, any Error>?>(nil)

        init(_ body: String, storage: String, rules: [RelabelRule] = []) throws {
            let receiver = self.receiver
            let scope = Scope([
                "out": .capsule(Capsule(LogsReceiverCapsule.self, receiver)),
                "rules": RelabelRules(rules).value,
            ])
            let config = "loki.source.journal \"read\" {\n forward_to = [out]\n\(body)\n}"
            let arguments = try ComponentHarness.decode(LokiSourceJournal.Arguments.self, config, scope: scope).arguments
            let context = ComponentHarness.context(id: "loki.source.journal.read", dataPath: storage + "/journal")
            component = try LokiSourceJournal(context: context, arguments: arguments)
            let component = self.component
            task.withLock { $0 = Task { try await component.run() } }
        }

        func waitForLines(_ count: Int) async -> [String] {
            let receiver = self.receiver
            _ = await eventually { receiver.entries.count >= count }
            return receiver.lines
        }

        func stop() async -> Result<Void, any Error> {
            guard let running = task.withLock({ $0 }) else { return .success(()) }
            running.cancel()
            return await running.result
        }

        /// How `run()` ended by itself.
        func ended() async -> Result<Void, any Error> {
            guard let running = task.withLock({ $0 }) else { return .success(()) }
            return await running.result
        }
    }

    @Test func readsMessagesWithJobLabelAndRelabeledJournalFieldsAndResumesAfterTheCursor() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        dir.makeDirectory("journal-files")
        let journalDir = dir.file("journal-files")
        try Self.writeJournal([
            [("MESSAGE", "started nginx"), ("_SYSTEMD_UNIT", "nginx.service"), ("PRIORITY", "6")],
            [("MESSAGE", "disk full"), ("_SYSTEMD_UNIT", "kubelet.service"), ("PRIORITY", "3")],
            [("_SYSTEMD_UNIT", "kubelet.service")],  // no MESSAGE: counted, not sent
        ], directory: journalDir, name: "first")
        let body = """
            path = "\(journalDir)"
            labels = { node = "n1" }
            relabel_rules = rules
            """
        // The rules come from a loki.relabel, as in Alloy's docs.
        let rulesConfig = """
            discovery.relabel "r" {
              targets = []
              rule {
                source_labels = ["__journal__systemd_unit"]
                target_label  = "unit"
              }
              rule {
                source_labels = ["__journal_priority_keyword"]
                target_label  = "level"
              }
            }
            """
        let rules = try ComponentHarness.decode(DiscoveryRelabel.Arguments.self, rulesConfig).arguments.rules
        let first = try Harness(body.replacingOccurrences(of: "relabel_rules = rules", with: ""), storage: dir.path)
        #expect(await first.waitForLines(2) == ["started nginx", "disk full"])
        let entry = try #require(first.receiver.entries.first)
        #expect(entry.labels == LabelSet([LabelPair(name: "job", value: "loki.source.journal.read"), LabelPair(name: "node", value: "n1")]))
        _ = await first.stop()

        // With rules, on the second run: only entries after the saved cursor arrive.
        try Self.writeJournal([[("MESSAGE", "after restart"), ("_SYSTEMD_UNIT", "sshd.service"), ("PRIORITY", "4")]],
                              directory: journalDir, name: "second")
        let second = try Harness(body, storage: dir.path, rules: rules)
        #expect(await second.waitForLines(1) == ["after restart"])
        #expect(second.receiver.entries.first?.labels["unit"] == "sshd.service")
        #expect(second.receiver.entries.first?.labels["level"] == "warning")
        _ = await second.stop()
    }

    @Test func formatAsJSONAndMatches() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        try Self.writeJournal([
            [("MESSAGE", "a"), ("_SYSTEMD_UNIT", "a.service")],
            [("MESSAGE", "b \"quoted\""), ("_SYSTEMD_UNIT", "b.service")],
        ], directory: dir.path, name: "j")
        let harness = try Harness("path = \"\(dir.path)\"\n format_as_json = true\n matches = \"_SYSTEMD_UNIT=b.service\"", storage: dir.path)
        let lines = await harness.waitForLines(1)
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("{\"MESSAGE\":\"b \\\"quoted\\\"\",") == true)
        #expect(lines.first?.contains("\"_SYSTEMD_UNIT\":\"b.service\"") == true)
        _ = await harness.stop()
    }

    @Test func aMissingJournalOrLibraryIsAClearComponentError() async throws {
        #expect(throws: SystemdLibrary.LoadError.self) { try SystemdLibrary.load("libsystemd-not-there.so.0") }
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let harness = try Harness("path = \"\(dir.path)/nowhere\"", storage: dir.path)
        guard case .failure(let error) = await harness.ended() else {
            Issue.record("run() went on without a journal")
            return
        }
        #expect("\(error)".contains("cannot open journal directory \(dir.path)/nowhere"))
        #expect(ComponentHarness.problem(LokiSourceJournal.Arguments.self, "loki.source.journal \"x\" {\n forward_to = []\n matches = \"NOEQUALS\"\n}")?
            .contains("is not FIELD=value") == true)
    }
}

