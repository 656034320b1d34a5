import Backend
import Wire

/// Deterministic inputs for the hot-path benchmarks, built in each benchmark's setup (outside the measurement).
///
/// Lines look like the load generator's (logfmt access logs of a fixed length), but are made here: a benchmark
/// target cannot import the `loadgen` executable.
enum BenchInputs {
    /// Bytes per generated line, as in the push benchmark.
    static let lineBytes = 215
    /// Streams a request or a set of label sets is spread over.
    static let streamCount = 10
    /// `ingester.chunk_block_size` and `chunk_target_size` defaults.
    static let blockSize = IngesterSettings().blockSize
    static let targetSize = IngesterSettings().targetSize

    /// `count` distinct logfmt lines of exactly `lineBytes` bytes; every `needleEvery`-th line (when > 0)
    /// contains the word `needle`.
    static func lines(_ count: Int, seed: UInt64 = 1, needleEvery: Int = 0) -> [[UInt8]] {
        var random = Mix64(state: seed)
        let levels = ["info", "info", "info", "info", "debug", "warn", "error"]
        let routes = ["users", "orders", "carts", "search", "invoices"]
        let methods = ["GET", "GET", "POST", "PUT", "DELETE"]
        let people = ["alice", "bob", "carol", "dave", "erin", "frank"]
        var result: [[UInt8]] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            let needle = needleEvery > 0 && index % needleEvery == needleEvery - 1
            let millis = 1_000 + index * 3
            var text = "ts=2026-12-01T10:\(two(millis / 60_000 % 60)):\(two(millis / 1000 % 60))"
            text += ".\(three(millis % 1000))Z"
            text += " level=\(random.pick(levels)) caller=api.go:\(random.below(400))"
            text += needle ? " msg=\"needle in the haystack\"" : " msg=\"request served\""
            text += " method=\(random.pick(methods)) path=/api/v1/\(random.pick(routes))/\(random.below(100_000))"
            text += " status=\(200 + random.below(4) * 100) duration_ms=\(random.below(5_000)).\(random.below(10))"
            text += " bytes=\(random.below(65_536)) user=\(random.pick(people)) trace_id="
            var bytes = Array(text.utf8.prefix(lineBytes))
            let hexDigits = Array("0123456789abcdef".utf8)
            while bytes.count < lineBytes { bytes.append(hexDigits[random.below(16)]) }
            result.append(bytes)
        }
        return result
    }

    /// Label text of stream `index` in the form clients send, five labels:
    /// `{job="bench", namespace="prod", pod="api-7f9c4-3", service="svc-3", stream="3"}`.
    static func labelText(_ index: Int) -> String {
        "{job=\"bench\", namespace=\"prod\", pod=\"api-7f9c4-\(index)\", service=\"svc-\(index % 10)\","
            + " stream=\"\(index)\"}"
    }

    /// A push request of `lines.count` entries spread round-robin over `streamCount` streams.
    static func pushRequest(_ lines: [[UInt8]]) -> PushRequest {
        var streams = (0..<streamCount).map { PushStream(labels: labelText($0)) }
        for (index, line) in lines.enumerated() {
            streams[index % streamCount].entries.append(
                PushEntry(timestamp: 1_764_583_200_000_000_000 + Int64(index), line: line[...]))
        }
        return PushRequest(streams: streams)
    }

    /// An OTLP request of `lines.count` records over `streamCount` resources, each record with a string body and
    /// five attributes, as `loadgen otlp --attributes 5` sends.
    static func otlpRequest(_ lines: [[UInt8]]) -> OTLPLogsData {
        var resources = (0..<streamCount).map { index in
            OTLPResourceLogs(
                resource: OTLPResource(attributes: [OTLPKeyValue(key: "service.name", value: .string("svc-\(index)"))]),
                scopeLogs: [OTLPScopeLogs(scope: OTLPInstrumentationScope(name: "estuary.bench", version: "1.0.0"))])
        }
        for (index, line) in lines.enumerated() {
            let time = 1_764_583_200_000_000_000 + UInt64(index)
            let record = OTLPLogRecord(
                timeUnixNano: time, observedTimeUnixNano: time, severityNumber: 9, severityText: "INFO",
                body: .string(String(decoding: line, as: UTF8.self)),
                attributes: [
                    OTLPKeyValue(key: "http.request.method", value: .string("GET")),
                    OTLPKeyValue(key: "http.route", value: .string("/api/v1/users/{id}")),
                    OTLPKeyValue(key: "http.response.status_code", value: .int(200)),
                    OTLPKeyValue(key: "user.id", value: .string("user-\(index % 97)")),
                    OTLPKeyValue(key: "attr.5", value: .string("value-\(index % 13)")),
                ])
            resources[index % streamCount].scopeLogs[0].logRecords.append(record)
        }
        return OTLPLogsData(resourceLogs: resources)
    }

    /// Lines laid one after the other up to `size` bytes, each ended by a newline: the raw contents of a block.
    static func block(size: Int, from lines: [[UInt8]]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size)
        var index = 0
        while bytes.count < size {
            bytes.append(contentsOf: lines[index % lines.count].prefix(size - bytes.count))
            if bytes.count < size { bytes.append(0x0A) }
            index += 1
        }
        return bytes
    }

    private static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
    private static func three(_ value: Int) -> String {
        value < 10 ? "00\(value)" : value < 100 ? "0\(value)" : "\(value)"
    }
}

/// SplitMix64: a small deterministic generator so that every run measures the same bytes.
struct Mix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    mutating func pick(_ values: [String]) -> String { values[below(values.count)] }
}
