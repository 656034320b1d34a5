import Synchronization
import Testing
import Wire
@testable import Pipeline

extension LokiWriteTests {
    @Suite struct Batching {
        private func entry(_ line: String, _ labels: [String: String] = ["job": "a"]) -> LogEntry {
            LogEntry(timestamp: 1, line: Array(line.utf8), labels: LabelSet(labels.map { LabelPair(name: $0.key, value: $0.value) }))
        }

        @Test func cutsBeforeAnEntryThatWouldPassBatchSize() {
            var batcher = LokiWrite.Batcher(batchSize: 10, maxStreams: 0, defaultTenant: "")
            let now = ContinuousClock.now
            var cut: [LokiWrite.Batch] = []
            for line in ["aaaa", "bbbb", "cc", "dddd", "e"] {
                if case .cut(let full) = batcher.add(entry(line), now: now) { cut.append(full) }
            }
            #expect(cut.map(\.bytes) == [10])
            #expect(cut.first?.streams.first?.entries.map { String(decoding: $0.line, as: UTF8.self) } == ["aaaa", "bbbb", "cc"])
            let rest = batcher.takeAll()
            #expect(rest.map(\.bytes) == [5])
            #expect(batcher.isEmpty)
        }

        @Test func anEntryLargerThanBatchSizeStillGoes() {
            var batcher = LokiWrite.Batcher(batchSize: 4, maxStreams: 0, defaultTenant: "")
            #expect({ if case .added = batcher.add(entry("0123456789"), now: .now) { true } else { false } }())
            #expect(batcher.takeAll().map(\.entryCount) == [1])
        }

        @Test func maxStreamsDropsEntriesOfFurtherStreams() {
            var batcher = LokiWrite.Batcher(batchSize: 1000, maxStreams: 2, defaultTenant: "")
            var limited = 0
            for job in ["a", "b", "c", "a", "d", "b"] {
                if case .streamLimited = batcher.add(entry("x", ["job": job]), now: .now) { limited += 1 }
            }
            #expect(limited == 2)
            let batches = batcher.takeAll()
            #expect(batches.first?.streams.map(\.labels) == [#"{job="a"}"#, #"{job="b"}"#])
            #expect(batches.first?.entryCount == 4)
        }

        @Test func tenantLabelSplitsBatchesAndInternalLabelsAreNotSent() {
            var batcher = LokiWrite.Batcher(batchSize: 1000, maxStreams: 0, defaultTenant: "default")
            _ = batcher.add(entry("1", ["job": "a"]), now: .now)
            _ = batcher.add(entry("2", ["job": "a", "__tenant_id__": "other", "__meta": "x"]), now: .now)
            _ = batcher.add(entry("3", ["job": "a", "__tenant_id__": "other"]), now: .now)
            let batches = batcher.takeAll()
            #expect(batches.map(\.tenant) == ["default", "other"])
            #expect(batches[1].streams.map(\.labels) == [#"{job="a"}"#])
            #expect(batches[1].entryCount == 2)
        }

        @Test func batchesExpireOldestFirstAfterBatchWait() {
            var batcher = LokiWrite.Batcher(batchSize: 1000, maxStreams: 0, defaultTenant: "")
            let start = ContinuousClock.now
            _ = batcher.add(entry("1", ["job": "a", "__tenant_id__": "t1"]), now: start)
            _ = batcher.add(entry("2", ["job": "a", "__tenant_id__": "t2"]), now: start + .milliseconds(50))
            #expect(batcher.deadline(batchWait: .milliseconds(100)) == start + .milliseconds(100))
            #expect(batcher.takeExpired(now: start + .milliseconds(99), batchWait: .milliseconds(100)).isEmpty)
            #expect(batcher.takeExpired(now: start + .milliseconds(100), batchWait: .milliseconds(100)).map(\.tenant) == ["t1"])
            #expect(batcher.deadline(batchWait: .milliseconds(100)) == start + .milliseconds(150))
        }

        @Test func externalLabelsNeverOverrideAnEntrysOwn() {
            let external = [LabelPair(name: "cluster", value: "prod"), LabelPair(name: "job", value: "external")]
            let batch = LogBatch(entries: [entry("1", ["job": "mine"]), entry("2", ["job": "mine"]), entry("3", ["app": "x"])])
            let labelled = LokiWrite.Receiver.addingLabels(external, to: batch)
            #expect(labelled.entries.map(\.labels.description) == [
                #"{cluster="prod", job="mine"}"#, #"{cluster="prod", job="mine"}"#, #"{app="x", cluster="prod", job="external"}"#,
            ])
        }
    }
}
