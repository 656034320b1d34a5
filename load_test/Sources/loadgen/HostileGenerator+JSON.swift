import Foundation
import Wire

/// Hostile Loki JSON push bodies, plain, gzip or deflate, and the decompression bombs shared with the OTLP family.
extension HostileGenerator {
    /// Bodies that are tiny compressed and huge decompressed, built once per run (they are deterministic).
    enum Bombs {
        /// 256 MiB of zero bytes (the plain bodies are built only to be compressed, then dropped).
        static let zerosGzip = Gzip.compress(zeros(), level: 9)
        static let zerosDeflate = Deflate.compress(zeros(), level: 9)
        /// A valid JSON push whose one line is 64 MiB of `a`.
        static let jsonLineGzip = Gzip.compress(jsonLine(), level: 9)
        static let jsonLineDeflate = Deflate.compress(jsonLine(), level: 9)
        /// 64 MiB of `[` (a JSON parser that recurses per level needs a stack that deep).
        static let bracketsGzip = Gzip.compress([UInt8](repeating: 0x5B, count: 64 << 20), level: 9)

        static func zeros() -> [UInt8] { [UInt8](repeating: 0, count: 256 << 20) }

        static func jsonLine() -> [UInt8] {
            Array(#"{"streams":[{"stream":{"job":"hostile"},"values":[["1700000000000000000",""#.utf8)
                + [UInt8](repeating: 0x61, count: 64 << 20) + Array(#""]]}]}"#.utf8)
        }
    }

    /// A valid JSON push of one stream, with the given timestamp, line and labels text.
    func jsonPush(timestamp: String = "", line: String = "hostile json line", labels: String = #"{"job":"hostile"}"#,
                  extra: String = "") -> String {
        let ts = timestamp.isEmpty ? "\"\(nowNanos - 60_000_000_000)\"" : timestamp
        return #"{"streams":[{"stream":\#(labels),"values":[[\#(ts),"\#(line)"\#(extra)]]}]}"#
    }

    func pushJSON(_ random: inout SplitMix64, target: HostileRequest.Target) -> HostileRequest {
        var body: [UInt8] = []
        var summary = ""
        var encoding = ["", "", "gzip", "deflate"][random.next(below: 4)]
        var alreadyEncoded = false
        var bodyLength = HostileRequest.BodyLength.exact
        var halfClose = false
        switch random.next(below: 11) {
        case 0:
            let malformed = [
                "", "{", "}", "[]", "null", "\"\"", "0", "{\"streams\":", "{\"streams\":null}", "{\"streams\":{}}",
                "{\"streams\":[null]}", "{\"streams\":[{}]}", "{\"streams\":[{\"stream\":null,\"values\":null}]}",
                jsonPush() + "garbage", "\u{FEFF}" + jsonPush(), String(jsonPush().dropLast()),
                jsonPush().replacingOccurrences(of: ":", with: "="), "{\"streams\":[]}\u{0}",
                "{\"streams\":[{\"stream\":{\"job\":\"x\"},\"values\":[[\"1\",\"x\"]]}]," + "\"streams\":1}",
                "{'streams':[]}", "{\"streams\":[{\"stream\":{\"job\":\"x\"},\"values\":[[\"1\",\"x\"],]}]}",
            ]
            let pick = random.next(below: malformed.count)
            body = Array(malformed[pick].utf8)
            summary = "malformed JSON #\(pick) \(Self.shown(malformed[pick]))"
        case 1:
            let depth = [1_000, 100_000, 1_000_000][random.next(below: 3)]
            let shape = random.next(below: 3)
            switch shape {
            case 0: body = [UInt8](repeating: 0x5B, count: depth)
            case 1: body = Array(String(repeating: "{\"a\":", count: depth).utf8)
            default:
                body = Array(jsonPush(labels: String(repeating: "{\"a\":", count: depth) + "1"
                                        + String(repeating: "}", count: depth)).utf8)
            }
            summary = "JSON nested \(depth) deep (shape \(shape))"
        case 2:
            let timestamps = HostileValues.numbers + ["", "\"\"", "null", "true", "[]", "{}"]
            let value = timestamps[random.next(below: timestamps.count)]
            let quoted = random.next(below: 3) == 0 || value.isEmpty ? value : "\"\(value)\""
            body = Array(jsonPush(timestamp: quoted.isEmpty ? "\"\"" : quoted).utf8)
            summary = "timestamp \(quoted)"
        case 3:
            let wrong = [
                jsonPush(labels: "[]"), jsonPush(labels: "{\"job\":1}"), jsonPush(labels: "{\"job\":{\"a\":\"b\"}}"),
                jsonPush(labels: "{\"job\":null}"), jsonPush(labels: "\"{job=\\\"x\\\"}\""), jsonPush(labels: "{}"),
                jsonPush(extra: ",{\"trace_id\":1}"), jsonPush(extra: ",\"meta\""), jsonPush(extra: ",{},{}"),
                jsonPush(extra: ",{\"a\":{\"b\":\"c\"}}"), jsonPush(extra: ",[]"),
                "{\"streams\":[{\"stream\":{\"job\":\"x\"},\"values\":[[\"\(nowNanos)\"]]}]}",
                "{\"streams\":[{\"stream\":{\"job\":\"x\"},\"values\":[[]]}]}",
                "{\"streams\":[{\"stream\":{\"job\":\"x\"},\"values\":\"x\"}]}",
                "{\"streams\":[{\"stream\":{\"job\":\"x\"},\"values\":[[\"\(nowNanos)\",1]]}]}",
                "{\"streams\":[{\"stream\":{\"job\":\"x\"},\"values\":[[\"\(nowNanos)\",null]]}]}",
                "{\"streams\":[{\"labels\":\"{job=\\\"x\\\"}\",\"entries\":[{\"ts\":\"2024-01-01T00:00:00Z\",\"line\":\"x\"}]}]}",
                "{\"streams\":[{\"labels\":\"{job=\\\"x\\\"}\",\"entries\":[{\"ts\":\"9999-99-99T00:00:00Z\",\"line\":1}]}]}",
                "{\"streams\":[{\"labels\":\"\",\"entries\":[{\"ts\":\"0001-01-01T00:00:00Z\",\"line\":\"x\"}]}]}",
            ]
            let pick = random.next(below: wrong.count)
            body = Array(wrong[pick].utf8)
            summary = "wrong types #\(pick) \(Self.shown(wrong[pick]))"
        case 4:
            let escapes = ["\\x41", "\\u12", "\\u", "\\ud800", "\\udc00\\ud800", "\\uDFFF", "\\", "\\q", "\\u0000",
                           "\u{1}\u{2}\t\n", "\\uZZZZ", "\\\\\\"]
            let pick = escapes[random.next(below: escapes.count)]
            body = Array((random.next(below: 2) == 0 ? jsonPush(line: pick)
                          : jsonPush(labels: "{\"job\":\"\(pick)\"}")).utf8)
            summary = "string escape \(pick.debugDescription)"
        case 5:
            let bad: [[UInt8]] = [[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0x80]]
            let pick = bad[random.next(below: bad.count)]
            body = Array(#"{"streams":[{"stream":{"job":""#.utf8) + pick
                + Array(#""},"values":[["\#(nowNanos - 60_000_000_000)","x"#.utf8) + pick + Array(#""]]}]}"#.utf8)
            summary = "invalid UTF-8 \(pick) in a label value and the line"
        case 6:
            alreadyEncoded = true
            let bombs: [(String, [UInt8], String)] = [
                ("gzip", Bombs.zerosGzip, "256 MiB of zeros"), ("deflate", Bombs.zerosDeflate, "256 MiB of zeros"),
                ("gzip", Bombs.jsonLineGzip, "a valid push with one 64 MiB line"),
                ("deflate", Bombs.jsonLineDeflate, "a valid push with one 64 MiB line"),
                ("gzip", Bombs.bracketsGzip, "64 MiB of '['"),
            ]
            let bomb = bombs[random.next(below: bombs.count)]
            (encoding, body) = (bomb.0, bomb.1)
            summary = "\(bomb.0) bomb: \(body.count) B that inflate to \(bomb.2)"
        case 7:
            let valid = Array(jsonPush().utf8)
            body = valid
            let lies = ["\(valid.count + 1 + random.next(below: 1000))", "\(max(0, valid.count - 1 - random.next(below: 20)))",
                        "-1", "abc", "99999999999999999999", "0x10", " \(valid.count)", "\(valid.count), \(valid.count)"]
            let lie = lies[random.next(below: lies.count)]
            bodyLength = .declared(lie)
            halfClose = true
            summary = "Content-Length \(lie) for a \(valid.count)-byte body"
        case 8:
            alreadyEncoded = true
            let plain = Array(jsonPush().utf8)
            let cases: [(String, [UInt8], String)] = [
                ("gzip", plain, "plain JSON labelled gzip"), ("deflate", plain, "plain JSON labelled deflate"),
                ("gzip", Array(Gzip.compress(plain).dropLast(6)), "truncated gzip"),
                ("gzip", Gzip.compress(plain) + Gzip.compress(plain), "two gzip members"),
                ("gzip", Gzip.compress(Gzip.compress(plain)), "gzip inside gzip"),
                ("deflate", Gzip.compress(plain), "gzip labelled deflate"),
                ("gzip", Deflate.compress(plain), "raw deflate labelled gzip"),
                ("snappy", Snappy.compress(plain), "snappy JSON"),
                ("gzip", [0x1F, 0x8B, 0x08, 0x00] + [UInt8](repeating: 0, count: 6) + [0xFF, 0xFF], "a gzip header then junk"),
            ]
            let pick = cases[random.next(below: cases.count)]
            (encoding, body, summary) = (pick.0, pick.1, pick.2)
        case 9:
            var bytes = Array(PushJSONEncoder.encode(validPush(&random)))
            let count = 1 + random.next(below: 8)
            for _ in 0..<count where !bytes.isEmpty {
                let symbols: [UInt8] = Array("{}[]\":,\\0-e.".utf8) + [0x00, 0xFF]
                bytes[random.next(below: bytes.count)] = symbols[random.next(below: symbols.count)]
            }
            body = bytes
            summary = "valid JSON with \(count) bytes replaced by JSON syntax"
        default:
            let count = [10_000, 100_000][random.next(below: 2)]
            let values = (0..<count).map { "[\"\(nowNanos - 60_000_000_000 + Int64($0))\",\"l\"]" }.joined(separator: ",")
            body = Array(#"{"streams":[{"stream":{"job":"hostile"},"values":[\#(values)]}]}"#.utf8)
            summary = "\(count) entries in one stream"
        }
        if !alreadyEncoded {
            switch encoding {
            case "gzip": body = Gzip.compress(body)
            case "deflate": body = Deflate.compress(body)
            default: break
            }
        }
        var headers = [HeaderField("Content-Type", "application/json"), HeaderField("X-Scope-OrgID", pushTenant(&random))]
        if !encoding.isEmpty { headers.append(HeaderField("Content-Encoding", encoding)) }
        var request = HostileRequest(target: target, path: "/loki/api/v1/push", headers: headers, body: body,
                                     summary: (encoding.isEmpty ? "" : "\(encoding): ") + summary)
        request.bodyLength = bodyLength
        request.halfClose = halfClose
        return request
    }
}
