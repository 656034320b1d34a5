import Testing
import Wire
@testable import Pipeline

@Suite struct LogBatchTests {
    @Test func pushRequestGroupsEntriesByStreamInArrivalOrder() {
        let a = LabelSet([LabelPair(name: "job", value: "a")])
        let b = LabelSet([LabelPair(name: "job", value: "b")])
        let batch = LogBatch(entries: [
            LogEntry(timestamp: 1, line: Array("one".utf8), labels: a),
            LogEntry(timestamp: 2, line: Array("two".utf8), labels: b),
            LogEntry(timestamp: 3, line: Array("three".utf8), labels: a),
        ])
        let request = batch.pushRequest()
        #expect(request.streams.map(\.labels) == [#"{job="a"}"#, #"{job="b"}"#])
        #expect(request.streams[0].entries.map(\.timestamp) == [1, 3])
        #expect(request.streams[0].entries.map { Array($0.line) } == [Array("one".utf8), Array("three".utf8)])
    }
}
