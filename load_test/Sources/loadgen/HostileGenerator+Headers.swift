import Wire

/// Hostile headers on otherwise valid requests to every listener.
extension HostileGenerator {
    func headers(_ random: inout SplitMix64) -> HostileRequest {
        var request: HostileRequest
        switch random.next(below: 4) {
        case 0:
            request = HostileRequest(target: .backend, path: "/loki/api/v1/push",
                                     headers: [HeaderField("Content-Type", "application/json")],
                                     body: Array(jsonPush().utf8), summary: "")
        case 1:
            request = HostileRequest(
                target: .backend, method: "GET",
                path: "/loki/api/v1/query_range?query=" + Self.encodeComponent(goodSelector) + "&limit=10",
                isQuery: true, summary: "")
        case 2:
            request = HostileRequest(target: .sourceAPI, path: "/loki/api/v1/push",
                                     headers: [HeaderField("Content-Type", "application/json")],
                                     body: Array(jsonPush().utf8), summary: "")
        default:
            request = HostileRequest(target: .otlp, path: "/v1/logs",
                                     headers: [HeaderField("Content-Type", "application/x-protobuf")],
                                     body: OTLPProtobuf.encodeLogsRequest(validOTLP(&random)), summary: "")
        }
        func replace(_ name: String, _ value: [UInt8]) {
            request.headers.removeAll { $0.name.lowercased() == name.lowercased() }
            request.headers.append(HeaderField(name, bytes: value))
        }
        switch random.next(below: 8) {
        case 0, 1:
            let tenant = HostileValues.tenants[random.next(below: HostileValues.tenants.count)]
            replace("X-Scope-OrgID", Array(tenant.utf8))
            request.summary = "X-Scope-OrgID \(Self.shown(tenant))"
        case 2:
            let bytes: [[UInt8]] = [[0xFF, 0xFE], [0x00], [0x0D], [0x0A], [0x61, 0x0D, 0x0A, 0x58, 0x3A, 0x20, 0x31],
                                    [0xC0, 0xAE, 0xC0, 0xAE]]
            let pick = bytes[random.next(below: bytes.count)]
            replace("X-Scope-OrgID", pick)
            request.summary = "X-Scope-OrgID bytes \(pick)"
        case 3:
            request.headers.append(HeaderField("X-Scope-OrgID", goodTenant))
            request.headers.append(HeaderField("X-Scope-OrgID", "hostile"))
            request.summary = "two X-Scope-OrgID headers"
        case 4:
            let type = HostileValues.contentTypes[random.next(below: HostileValues.contentTypes.count)]
            let encoding = HostileValues.contentEncodings[random.next(below: HostileValues.contentEncodings.count)]
            replace("Content-Type", Array(type.utf8))
            replace("Content-Encoding", Array(encoding.utf8))
            replace("X-Scope-OrgID", Array(pushTenant(&random).utf8))
            request.summary = "Content-Type \(Self.shown(type)) with Content-Encoding \(Self.shown(encoding))"
        case 5:
            replace("X-Scope-OrgID", Array(pushTenant(&random).utf8))
            let count = request.body.count
            let lies = ["\(count + 1 + random.next(below: 100_000))", "\(max(0, count - 1 - random.next(below: 30)))",
                        "0", "-1", "abc", "", "99999999999999999999", "18446744073709551615", "\(count) \(count)"]
            let lie = lies[random.next(below: lies.count)]
            request.bodyLength = .declared(lie)
            request.halfClose = true
            request.summary = "Content-Length \(Self.shown(lie)) for a \(count)-byte body"
        case 6:
            replace("X-Scope-OrgID", Array(pushTenant(&random).utf8))
            let count = request.body.count
            let shapes = [
                ("two different Content-Lengths", [HeaderField("Content-Length", "\(count)"), HeaderField("Content-Length", "\(count + 5)")]),
                ("Content-Length and Transfer-Encoding: chunked", [HeaderField("Content-Length", "\(count)"), HeaderField("Transfer-Encoding", "chunked")]),
                ("Transfer-Encoding: gzip, chunked", [HeaderField("Transfer-Encoding", "gzip, chunked")]),
                ("Transfer-Encoding: chunked with a 2^64 chunk size", [HeaderField("Transfer-Encoding", "chunked")]),
            ]
            let pick = random.next(below: shapes.count)
            request.headers += shapes[pick].1
            request.bodyLength = .absent
            request.halfClose = true
            if pick == 3 {
                request.body = Array("FFFFFFFFFFFFFFFFF\r\n".utf8) + request.body + Array("\r\n0\r\n\r\n".utf8)
            } else if pick == 2 {
                request.body = Array("\(String(count, radix: 16))\r\n".utf8) + request.body + Array("\r\n0\r\n\r\n".utf8)
            }
            request.summary = shapes[pick].0
        default:
            replace("X-Scope-OrgID", Array(pushTenant(&random).utf8))
            let shapes: [(String, [HeaderField])] = [
                ("one 1 MiB header", [HeaderField("X-Big", String(repeating: "b", count: 1 << 20))]),
                ("200 headers of 8 KiB", (0..<200).map { HeaderField("X-H\($0)", String(repeating: "h", count: 8_192)) }),
                ("10,000 small headers", (0..<10_000).map { HeaderField("X-\($0)", "v") }),
                ("a header name of 64 KiB", [HeaderField(String(repeating: "N", count: 65_536), "v")]),
                ("a header without a colon value", [HeaderField("X-Empty", "")]),
            ]
            let pick = shapes[random.next(below: shapes.count)]
            request.headers += pick.1
            request.summary = pick.0
        }
        if !request.headers.contains(where: { $0.name == "X-Scope-OrgID" }), request.target == .backend {
            request.headers.append(HeaderField("X-Scope-OrgID", pushTenant(&random)))
        }
        return request
    }
}
