import Foundation
import Wire

/// Hostile OTLP/HTTP log exports for the agent's `otelcol.receiver.otlp`.
extension HostileGenerator {
    /// Timestamps at and past Int64's end (OTLP's are fixed64, unsigned).
    static let otlpTimestamps: [UInt64] = [1 << 63, (1 << 63) + 1, .max, .max - 1, (1 << 63) - 1, 0, 1]

    /// A valid export of 1-5 records, now.
    func validOTLP(_ random: inout SplitMix64, time: UInt64? = nil, observed: UInt64? = nil) -> OTLPLogsData {
        let now = UInt64(nowNanos)
        let records = (0..<(1 + random.next(below: 5))).map { index in
            OTLPLogRecord(timeUnixNano: time ?? now + UInt64(index), observedTimeUnixNano: observed ?? now,
                          severityNumber: 9, severityText: "INFO", body: .string("hostile otlp \(index)"),
                          attributes: [OTLPKeyValue(key: "k", value: .string("v"))])
        }
        return OTLPLogsData(resourceLogs: [OTLPResourceLogs(
            resource: OTLPResource(attributes: [OTLPKeyValue(key: "service.name", value: .string("hostile"))]),
            scopeLogs: [OTLPScopeLogs(scope: OTLPInstrumentationScope(name: "hostile"), logRecords: records)])])
    }

    /// An export of one record whose body is `body` (protobuf bytes of an `AnyValue`).
    static func otlpProtobuf(recordBody: [UInt8], extraRecordFields: [UInt8] = []) -> [UInt8] {
        let record = ProtobufBytes.message { $0.bytesField(5, recordBody) } + extraRecordFields
        let scope = ProtobufBytes.message { $0.bytesField(2, record) }
        let resource = ProtobufBytes.message { $0.bytesField(2, scope) }
        return ProtobufBytes.message { $0.bytesField(1, resource) }
    }

    func otlp(_ random: inout SplitMix64) -> HostileRequest {
        let json = random.next(below: 2) == 0
        var contentType = json ? "application/json" : "application/x-protobuf"
        var encoding = ""
        var body: [UInt8] = []
        var summary = ""
        func encode(_ logs: OTLPLogsData) -> [UInt8] {
            json ? OTLPJSON.encodeLogsRequest(logs) : OTLPProtobuf.encodeLogsRequest(logs)
        }
        switch random.next(below: 9) {
        case 0:
            let time = Self.otlpTimestamps[random.next(below: Self.otlpTimestamps.count)]
            let observed = Self.otlpTimestamps[random.next(below: Self.otlpTimestamps.count)]
            let which = random.next(below: 3)
            body = encode(validOTLP(&random, time: which == 1 ? 0 : time, observed: which == 0 ? UInt64(nowNanos) : observed))
            summary = "timeUnixNano=\(which == 1 ? 0 : time) observedTimeUnixNano=\(which == 0 ? UInt64(nowNanos) : observed)"
        case 1:
            let count = [10_000, 100_000][random.next(below: 2)]
            var logs = validOTLP(&random)
            let attributes = (0..<count).map { OTLPKeyValue(key: "a\($0)", value: .int(Int64($0))) }
            if random.next(below: 2) == 0 {
                logs.resourceLogs[0].scopeLogs[0].logRecords[0].attributes = attributes
            } else {
                logs.resourceLogs[0].resource.attributes += attributes
            }
            body = encode(logs)
            summary = "\(count) attributes"
        case 2:
            let depth = [100, 1_000, 10_000, 100_000][random.next(below: 4)]
            if json {
                let shape = random.next(below: 2) == 0
                let open = shape ? "{\"arrayValue\":{\"values\":[" : "{\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":"
                let close = shape ? "]}}" : "}]}}"
                let value = String(repeating: open, count: depth) + "{\"stringValue\":\"x\"}" + String(repeating: close, count: depth)
                body = Array(#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"\#(nowNanos)","body":\#(value)}]}]}]}"#.utf8)
            } else {
                let leaf = ProtobufBytes.message { $0.stringField(1, "x") }
                body = Self.otlpProtobuf(recordBody: ProtobufBytes.nested(depth: depth, outerField: 5, innerField: 1, inner: leaf))
            }
            summary = "AnyValue nested \(depth) deep"
        case 3:
            let types = HostileValues.contentTypes
            contentType = types[random.next(below: types.count)]
            body = encode(validOTLP(&random))
            summary = "\(json ? "JSON" : "protobuf") body sent as Content-Type \(Self.shown(contentType))"
        case 4:
            let bombs: [[UInt8]] = [Bombs.zerosGzip, Bombs.jsonLineGzip, Bombs.bracketsGzip]
            let pick = random.next(below: bombs.count)
            (encoding, body) = ("gzip", bombs[pick])
            summary = "gzip bomb #\(pick) (\(body.count) B compressed)"
        case 5:
            var bytes = encode(validOTLP(&random))
            let count = 1 + random.next(below: 8)
            for _ in 0..<count where !bytes.isEmpty {
                let symbols = Array("{}[]\":,\\0-e.".utf8)
                bytes[random.next(below: bytes.count)] = json ? symbols[random.next(below: symbols.count)]
                    : UInt8(truncatingIfNeeded: random.next())
            }
            if random.next(below: 2) == 0 { bytes = Array(bytes.prefix(random.next(below: bytes.count + 1))) }
            body = bytes
            summary = "valid export with \(count) bytes overwritten (maybe truncated)"
        case 6 where json:
            let fields = [
                "\"timeUnixNano\":\"18446744073709551616\"", "\"timeUnixNano\":\"-1\"", "\"timeUnixNano\":1e30",
                "\"timeUnixNano\":\"abc\"", "\"timeUnixNano\":18446744073709551615", "\"observedTimeUnixNano\":\"9223372036854775808\"",
                "\"severityNumber\":2147483648", "\"severityNumber\":\"SEVERITY_NUMBER_NOPE\"", "\"traceId\":\"zz\"",
                "\"traceId\":\"0102\"", "\"spanId\":\"" + String(repeating: "0", count: 10_000) + "\"",
                "\"body\":{\"intValue\":\"9223372036854775808\"}", "\"body\":{\"doubleValue\":\"NaN\"}",
                "\"body\":{\"bytesValue\":\"!!!\"}", "\"body\":{\"stringValue\":\"\\ud800\"}", "\"body\":{}",
                "\"body\":{\"stringValue\":1}", "\"attributes\":[{\"key\":1}]", "\"attributes\":{}", "\"flags\":-1",
                "\"body\":{\"intValue\":1,\"stringValue\":\"x\"}",
            ]
            let field = fields[random.next(below: fields.count)]
            body = Array(#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{\#(field)}]}]}]}"#.utf8)
            summary = "OTLP/JSON field \(Self.shown(field))"
        case 6:
            // Protobuf fields with the wrong wire type, and lengths past the end.
            let shapes: [[UInt8]] = [
                Self.otlpProtobuf(recordBody: [], extraRecordFields: [0x09, 0xFF]),
                Self.otlpProtobuf(recordBody: [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
                Self.otlpProtobuf(recordBody: ProtobufBytes.message { $0.stringField(1, "x") },
                                  extraRecordFields: ProtobufBytes.message { $0.bytesField(9, [1, 2, 3]) }),
                Self.otlpProtobuf(recordBody: ProtobufBytes.message { $0.bytesField(1, [0xFF, 0xFE]) }),
                Self.otlpProtobuf(recordBody: ProtobufBytes.message { $0.varintField(1, 1) }),
                [0x0A] + ProtobufBytes.varint(.max),
                Self.otlpProtobuf(recordBody: [], extraRecordFields: ProtobufBytes.message { $0.varintField(2, .max) }),
            ]
            let pick = random.next(below: shapes.count)
            body = shapes[pick]
            summary = "hand-made protobuf #\(pick)"
        case 7:
            let plain = encode(validOTLP(&random))
            let cases: [(String, [UInt8])] = [("gzip", plain), ("deflate", plain), ("br", plain), ("zstd", plain),
                                              ("gzip", Array(Gzip.compress(plain).dropLast(4))), ("snappy", Snappy.compress(plain)),
                                              ("gzip, gzip", Gzip.compress(Gzip.compress(plain)))]
            let pick = cases[random.next(below: cases.count)]
            (encoding, body) = pick
            summary = "Content-Encoding \(pick.0) on \(pick.1.count) B"
        default:
            body = json ? Array("{}".utf8) : []
            if random.next(below: 2) == 0 { body = encode(OTLPLogsData(resourceLogs: [OTLPResourceLogs()])) }
            summary = "an empty export"
        }
        var headers = [HeaderField("Content-Type", contentType)]
        if !encoding.isEmpty { headers.append(HeaderField("Content-Encoding", encoding)) }
        let paths = ["/v1/logs", "/v1/logs", "/v1/logs", "/v1/logs/", "/v1/logs?x=1", "/v1/traces", "/v1/metrics"]
        let path = paths[random.next(below: paths.count)]
        return HostileRequest(target: .otlp, path: path, headers: headers, body: body,
                              summary: (json ? "json " : "protobuf ") + summary)
    }
}
