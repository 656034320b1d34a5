import NIOHTTP1
import Wire

/// The OTLP/HTTP logs load (`otlp`): `ExportLogsServiceRequest`s (`OTLPLogsData`), protobuf or OTLP/JSON, gzip when
/// asked, to one or more URLs.
///
/// A request holds `min(services, records)` resources (`service.name=svc-N`), each with one scope and an even share
/// of the records. A record has a logfmt body (the push generator's lines), the severity of the line's `level=`, and
/// `attributes` string attributes. Stamping sets `timeUnixNano` and `observedTimeUnixNano` and the next services'
/// names, so records are always near "now" and successive requests rotate through all services.
struct OTLPMode: LoadMode {
    /// The scope every request carries.
    static let scopeName = "estuary.loadgen"
    static let scopeVersion = "1.0.0"

    /// The full export URLs, e.g. `http://127.0.0.1:4318/v1/logs` (gateway replicas): worker `i` sends to
    /// `urls[i % urls.count]`, spreading the rate evenly.
    var urls: [String]
    var encoding: BodyEncoding
    /// gzip bodies at this level (1...9); nil: uncompressed.
    var gzipLevel: Int32?
    /// String attributes per record.
    var attributes: Int
    /// `svc-0` ... `svc-(services-1)`, as resource attribute values.
    private let serviceNames: [OTLPAnyValue]

    init(urls: [String], encoding: BodyEncoding, gzipLevel: Int32? = nil, attributes: Int, services: Int) {
        self.urls = urls
        self.encoding = encoding
        self.gzipLevel = gzipLevel
        self.attributes = attributes
        self.serviceNames = Self.serviceNames(count: services).map { .string($0) }
    }

    /// `svc-0` ... `svc-(count-1)`.
    static func serviceNames(count: Int) -> [String] {
        (0..<max(1, count)).map { "svc-\($0)" }
    }

    var services: Int { serviceNames.count }

    var groupCount: Int { serviceNames.count }

    func makeTemplates(_ lines: [[[ArraySlice<UInt8>]]], worker: Int) -> [OTLPLogsData] {
        var random = SplitMix64(seed: UInt64(worker) &* 0x2545_F491_4F6C_DD1D &+ 17)
        return lines.map { resources in
            OTLPLogsData(resourceLogs: resources.map { bodies in
                let records = bodies.map { line in
                    let severity = Self.severity(ofLine: line)
                    return OTLPLogRecord(
                        severityNumber: severity.number, severityText: severity.text,
                        body: .string(String(decoding: line, as: UTF8.self)),
                        attributes: Self.makeAttributes(count: attributes, random: &random))
                }
                return OTLPResourceLogs(
                    resource: OTLPResource(attributes: [OTLPKeyValue(key: "service.name", value: .string(""))]),
                    scopeLogs: [OTLPScopeLogs(
                        scope: OTLPInstrumentationScope(name: Self.scopeName, version: Self.scopeVersion),
                        logRecords: records)])
            })
        }
    }

    func stamp(_ request: inout OTLPLogsData, nowNanos: Int64, firstGroup: Int) {
        let now = UInt64(max(0, nowNanos))
        for resource in request.resourceLogs.indices {
            request.resourceLogs[resource].resource.attributes[0].value =
                serviceNames[(firstGroup + resource) % serviceNames.count]
            for scope in request.resourceLogs[resource].scopeLogs.indices {
                for record in request.resourceLogs[resource].scopeLogs[scope].logRecords.indices {
                    let time = now &+ UInt64(record)
                    request.resourceLogs[resource].scopeLogs[scope].logRecords[record].timeUnixNano = time
                    request.resourceLogs[resource].scopeLogs[scope].logRecords[record].observedTimeUnixNano = time
                }
            }
        }
    }

    func recordCounts(_ request: OTLPLogsData) -> [Int] {
        request.resourceLogs.map { $0.scopeLogs.reduce(0) { $0 + $1.logRecords.count } }
    }

    func trimmed(_ request: OTLPLogsData, to records: Int) -> OTLPLogsData {
        var left = max(0, records)
        var out = OTLPLogsData()
        for var resource in request.resourceLogs where left > 0 {
            for scope in resource.scopeLogs.indices {
                let kept = Array(resource.scopeLogs[scope].logRecords.prefix(left))
                left -= kept.count
                resource.scopeLogs[scope].logRecords = kept
            }
            resource.scopeLogs.removeAll { $0.logRecords.isEmpty }
            out.resourceLogs.append(resource)
        }
        return out
    }

    /// ``BodyEncoding/encode(_:)``, which copies bodies verbatim.
    func serialize(_ request: OTLPLogsData) -> [UInt8] { encoding.encode(request) }

    func compress(_ serialized: [UInt8]) -> [UInt8] {
        gzipLevel.map { Gzip.compress(serialized, level: $0) } ?? serialized
    }

    var urlCount: Int { urls.count }

    func url(worker: Int) -> String { urls[worker % urls.count] }

    var headers: HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: encoding.contentType)
        headers.add(name: "User-Agent", value: "estuary-loadgen")
        if gzipLevel != nil { headers.add(name: "Content-Encoding", value: "gzip") }
        return headers
    }

    /// A success's `ExportLogsServiceResponse` is small.
    var successBodyLimit: Int { 1 << 20 }

    /// Reads the `partial_success` of a 2xx answer, in the encoding its `Content-Type` names (the request's when it
    /// names neither).
    func success(status: Int, body: [UInt8], contentType: String?, latency: Duration) -> SendOutcome {
        let type = contentType?.lowercased() ?? ""
        let encoding: BodyEncoding = type.hasPrefix("application/json") ? .json
            : type.hasPrefix("application/x-protobuf") || type.hasPrefix("application/protobuf") ? .protobuf
            : self.encoding
        do throws(OTLPDecodeError) {
            let response = try encoding.decodeResponse(body)
            return SendOutcome(status: status, message: response.errorMessage,
                               rejectedRecords: Int(clamping: response.rejectedLogRecords), latency: latency)
        } catch {
            return SendOutcome(status: status, message: "\(error)", responseUndecodable: true, latency: latency)
        }
    }

    var progressNames: (records: String, errors: String) { ("records", "refused") }

    // MARK: Record contents

    /// Attribute keys in the order they are added; past the list, `attr.N`.
    static let attributeKeys = [
        "http.request.method", "http.route", "http.response.status_code", "user.id", "client.address",
        "server.address", "thread.name", "code.function", "deployment.environment", "k8s.pod.name",
    ]
    private static let methods = ["GET", "GET", "GET", "POST", "PUT", "DELETE"]
    private static let routes = ["/api/v1/users/{id}", "/api/v1/orders", "/api/v1/invoices/{id}", "/api/v1/search",
                                 "/api/v1/carts/{id}", "/healthz"]
    private static let statuses = ["200", "200", "200", "201", "204", "304", "400", "404", "500"]
    private static let functions = ["ServeHTTP", "handleOrder", "loadUser", "queryDB", "refreshToken", "render"]
    private static let environments = ["production", "staging"]

    /// `count` string attributes with varied values.
    static func makeAttributes(count: Int, random: inout SplitMix64) -> [OTLPKeyValue] {
        var attributes: [OTLPKeyValue] = []
        attributes.reserveCapacity(max(0, count))
        for index in 0..<max(0, count) {
            let key = index < attributeKeys.count ? attributeKeys[index] : "attr.\(index)"
            let value: String
            switch index {
            case 0: value = methods[random.next(below: methods.count)]
            case 1: value = routes[random.next(below: routes.count)]
            case 2: value = statuses[random.next(below: statuses.count)]
            case 3: value = "user-\(random.next(below: 100_000))"
            case 4, 5: value = "10.\(random.next(below: 256)).\(random.next(below: 256)).\(random.next(below: 256))"
            case 6: value = "worker-\(random.next(below: 64))"
            case 7: value = functions[random.next(below: functions.count)]
            case 8: value = environments[random.next(below: environments.count)]
            case 9: value = "api-\(random.next(below: 1 << 20))-\(random.next(below: 1 << 16))"
            default: value = "value-\(random.next(below: 1_000_000))"
            }
            attributes.append(OTLPKeyValue(key: key, value: .string(value)))
        }
        return attributes
    }

    /// The OTLP severity of a generated line's `level=` (`info` -> 9 INFO); INFO when the line has none.
    static func severity<Line: Collection<UInt8>>(ofLine line: Line) -> (number: Int32, text: String) {
        let line = Array(line)
        let marker = Array(" level=".utf8)
        guard line.count > marker.count else { return (9, "INFO") }
        for start in 0...(line.count - marker.count) where line[start..<(start + marker.count)].elementsEqual(marker) {
            let valueStart = start + marker.count
            let valueEnd = line[valueStart...].firstIndex(of: UInt8(ascii: " ")) ?? line.count
            switch String(decoding: line[valueStart..<valueEnd], as: UTF8.self) {
            case "debug": return (5, "DEBUG")
            case "warn": return (13, "WARN")
            case "error": return (17, "ERROR")
            default: return (9, "INFO")
            }
        }
        return (9, "INFO")
    }
}
