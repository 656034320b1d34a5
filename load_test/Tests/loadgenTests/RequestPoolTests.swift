import Foundation
import Testing
import Wire

@testable import loadgen

@Suite struct RequestPoolTests {
    @Test(arguments: [50, 215, 400])
    func linesHaveExactLengthAndLookLikeLogfmt(lineBytes: Int) {
        var generator = LineGenerator(lineBytes: lineBytes, seed: 7, startMillis: 1_795_000_000_000)
        var arena: [UInt8] = []
        for index in 0..<200 { generator.appendLine(to: &arena, needle: index == 3) }
        #expect(arena.count == 200 * lineBytes)
        let first = String(decoding: arena[0..<lineBytes], as: UTF8.self)
        #expect(first.hasPrefix("ts=2026-11-18T11:06:40.00"))
        if lineBytes >= 215 {
            let needleLine = String(decoding: arena[(3 * lineBytes)..<(4 * lineBytes)], as: UTF8.self)
            #expect(needleLine.contains("needle"))
            #expect(first.contains(" status=") && first.contains(" trace_id="))
        }
        if lineBytes >= 215 {
            let distinct = Set((0..<200).map { arena[($0 * lineBytes)..<(($0 + 1) * lineBytes)] })
            #expect(distinct.count == 200)
        }
    }

    @Test(arguments: [LineFormat.minimumJSONBytes, 400])
    func jsonLinesAreObjectsOfTheSameFieldsWithTheMarkerInside(lineBytes: Int) throws {
        var pool = RequestPool(mode: PushMode.forTests(streams: 3), worker: 1, templateCount: 2, recordsPerRequest: 50,
                               lineBytes: lineBytes, needleEvery: 10, startMillis: 1_795_000_000_000,
                               runID: "0badcafe", lineFormat: .json)
        let (request, _) = pool.withNextRequest(nowNanos: 1) { $0 }
        let lines = request.streams.flatMap { $0.entries.map { Array($0.line) } }
        #expect(lines.count == 50)
        var needles = 0
        for line in lines {
            #expect(line.count == lineBytes)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
            #expect(Set(object.keys) == ["ts", "level", "caller", "msg", "method", "path", "status", "duration_ms",
                                         "bytes", "user", "trace_id", "marker"])
            #expect(object["status"] is NSNumber && (object["marker"] as? String)?.hasPrefix(" run=0badcafe seq=") == true)
            if (object["msg"] as? String)?.contains("needle") == true { needles += 1 }
        }
        #expect(needles == 5)
    }

    @Test func rfc3339MatchesKnownInstants() {
        #expect(LineGenerator.rfc3339(millis: 0) == "1970-01-01T00:00:00.000Z")
        #expect(LineGenerator.rfc3339(millis: 951_782_400_123) == "2000-02-29T00:00:00.123Z")
        #expect(LineGenerator.rfc3339(millis: 1_795_537_598_503) == "2026-11-24T16:26:38.503Z")
    }

    @Test func stampsFreshTimestampsAndRotatesStreams() {
        let labels = PushMode.makeStreamLabels(count: 10)
        var pool = RequestPool(mode: PushMode.forTests(streams: labels.count), worker: 0, templateCount: 2,
                               recordsPerRequest: 8, lineBytes: 100, needleEvery: 0, startMillis: 0)
        var seen: [String] = []
        for round in 0..<3 {
            let now = Int64(1_000_000 * (round + 1))
            let (request, _) = pool.withNextRequest(nowNanos: now) { $0 }
            #expect(request.streams.count == 8)
            #expect(request.streams.reduce(0) { $0 + $1.entries.count } == 8)
            for stream in request.streams {
                #expect(stream.entries.first?.timestamp == now)
                seen.append(stream.labels)
            }
        }
        // 24 stream slots over 10 streams: every stream used, in order.
        #expect(Set(seen).count == 10)
        #expect(seen[0] == #"{job="gen", stream="0", service="svc-0"}"#)
        #expect(seen[8] == labels[8] && seen[10] == labels[0])
    }

    @Test func countsNeedles() {
        let labels = PushMode.makeStreamLabels(count: 3)
        var pool = RequestPool(mode: PushMode.forTests(streams: labels.count), worker: 0, templateCount: 4,
                               recordsPerRequest: 25, lineBytes: 215, needleEvery: 10, startMillis: 0)
        var needles = 0
        var counted = 0
        for _ in 0..<4 {
            let (request, reported) = pool.withNextRequest(nowNanos: 1) { $0 }
            needles += reported
            for stream in request.streams {
                for entry in stream.entries where String(decoding: entry.line, as: UTF8.self).contains("needle") {
                    counted += 1
                }
            }
        }
        #expect(needles == 10)
        #expect(counted == needles)
    }

    @Test func readsOwnProcessFigures() throws {
        let sample = try ProcessSample.capture(pid: "self")
        #expect(sample.cpuSeconds >= 0)
        #expect(sample.rssBytes > 0 && sample.peakRSSBytes >= sample.rssBytes)
        #expect(throws: LoadGenError.self) { try ProcessSample.capture(pid: "999999999") }
    }

    @Test func readsLokiQueryStats() throws {
        let body = Array(#"""
            {"status":"success","data":{"resultType":"streams","result":[{"stream":{"job":"gen"},
            "values":[["2","b"],["1","a"]]}],"stats":{"summary":{"bytesProcessedPerSecond":123,
            "totalBytesProcessed":1000,"totalLinesProcessed":10,"execTime":0.25}}}}
            """#.utf8)
        let run = try QueryCommand.parse(body, url: "u")
        #expect(run.entriesReturned == 2)
        #expect(run.bytesProcessed == 1000 && run.execSeconds == 0.25 && run.bytesPerSecondReported == 123)
        #expect(throws: LoadGenError.self) { try QueryCommand.parse(Array("{\"oops\":1}".utf8), url: "u") }
    }
}
