import Wire

/// One worker's pool of pre-built OTLP export requests (`OTLPLogsData`), made before the clock starts.
///
/// A request holds `min(services, recordsPerRequest)` resources (`service.name=svc-N`), each with one scope and an
/// even share of the records. A record has a logfmt body of exactly `lineBytes` bytes (the push generator's lines),
/// the severity of the line's `level=`, and `attributes` string attributes. Sending only stamps `timeUnixNano` and
/// `observedTimeUnixNano` and the next services' names into a template, so records are always near "now" and
/// successive requests rotate through all services.
struct OTLPRequestPool: Sendable {
    /// The scope every request carries.
    static let scopeName = "estuary.loadgen"
    static let scopeVersion = "1.0.0"

    /// The pre-built requests; every one carries `recordsPerRequest` records.
    private var templates: [OTLPLogsData]
    /// `svc-0` ... `svc-(services-1)`, as resource attribute values.
    private let serviceNames: [OTLPAnyValue]
    private var nextTemplate = 0
    private var nextService: Int
    /// Writes the verify markers' digits into encoded bodies.
    private let stamper: MarkerStamper
    /// This worker's sequence numbers per service.
    private(set) var ledger: SequenceLedger
    let worker: Int

    /// Records in every request.
    let recordsPerRequest: Int
    /// Body (log line) bytes of each template (bodies vary in size with a ``LineSizeDistribution``).
    private let templateLineBytes: [Int]
    /// Body bytes in all templates together, and records in them: their mean body size is what the pool sends.
    let poolLineBytes: Int
    var poolRecords: Int { templates.count * recordsPerRequest }

    /// Builds `templateCount` requests of `recordsPerRequest` records for worker `worker` (which seeds the values,
    /// so workers send different lines). Bodies are `lineBytes` long or, with `lineSizes`, of sizes drawn from it
    /// (seeded by `sizeSeed` and the worker). Every body ends with a ``RecordMarker`` of `runID`, so a body is at
    /// least ``RecordMarker/byteCount`` bytes.
    init(
        worker: Int, templateCount: Int, recordsPerRequest: Int, lineBytes: Int, attributes: Int, services: Int,
        startMillis: Int64, runID: String = "00000000", lineSizes: LineSizeDistribution? = nil, sizeSeed: UInt64 = 1
    ) {
        let distribution = lineSizes ?? .fixed(lineBytes)
        if case .fixed(let bytes) = distribution {
            precondition(bytes >= RecordMarker.byteCount, "--line-bytes is checked to hold the marker")
        }
        var sizes = LineSizeSampler(distribution, seed: LineSizeSampler.seed(sizeSeed, worker: worker))
        let services = max(1, services)
        let placeholder = RecordMarker.placeholder(runID: runID)
        var generator = LineGenerator(lineBytes: lineBytes - placeholder.count,
                                      seed: UInt64(worker) &* 0x9E37_79B9 &+ 0x5151, startMillis: startMillis)
        var random = SplitMix64(seed: UInt64(worker) &* 0x2545_F491_4F6C_DD1D &+ 17)
        let resourcesPerRequest = max(1, min(services, recordsPerRequest))
        var templates: [OTLPLogsData] = []
        templates.reserveCapacity(templateCount)
        var templateLineBytes: [Int] = []
        var arena: [UInt8] = []
        arena.reserveCapacity(lineBytes)
        for _ in 0..<max(1, templateCount) {
            var request = OTLPLogsData()
            request.resourceLogs.reserveCapacity(resourcesPerRequest)
            var bytes = 0
            for resource in 0..<resourcesPerRequest {
                // Spread the remainder over the first resources so every request has exactly recordsPerRequest.
                let count = recordsPerRequest / resourcesPerRequest
                    + (resource < recordsPerRequest % resourcesPerRequest ? 1 : 0)
                var records: [OTLPLogRecord] = []
                records.reserveCapacity(count)
                for _ in 0..<count {
                    arena.removeAll(keepingCapacity: true)
                    generator.appendLine(to: &arena, needle: false, bytes: sizes.next() - placeholder.count)
                    arena.append(contentsOf: placeholder)
                    bytes += arena.count
                    let severity = Self.severity(ofLine: arena)
                    records.append(OTLPLogRecord(
                        severityNumber: severity.number, severityText: severity.text,
                        body: .string(String(decoding: arena, as: UTF8.self)),
                        attributes: Self.makeAttributes(count: attributes, random: &random)))
                }
                request.resourceLogs.append(OTLPResourceLogs(
                    resource: OTLPResource(attributes: [OTLPKeyValue(key: "service.name", value: .string(""))]),
                    scopeLogs: [OTLPScopeLogs(
                        scope: OTLPInstrumentationScope(name: Self.scopeName, version: Self.scopeVersion),
                        logRecords: records)]))
            }
            templates.append(request)
            templateLineBytes.append(bytes)
        }
        self.templates = templates
        self.templateLineBytes = templateLineBytes
        self.poolLineBytes = templateLineBytes.reduce(0, +)
        self.serviceNames = Self.serviceNames(count: services).map { .string($0) }
        self.recordsPerRequest = recordsPerRequest
        self.nextService = (worker * resourcesPerRequest) % services
        self.stamper = MarkerStamper(runID: runID)
        self.ledger = SequenceLedger(worker: worker, streams: services)
        self.worker = worker
    }

    /// `svc-0` ... `svc-(count-1)`.
    static func serviceNames(count: Int) -> [String] {
        (0..<max(1, count)).map { "svc-\($0)" }
    }

    /// Takes the next template, stamps its records' times from `nowNanos` (record `j` of a resource gets
    /// `nowNanos + j`, so a service's records are in order within a request) and the next services' names, and
    /// passes it to `body`.
    mutating func withNextRequest<Result>(nowNanos: Int64, _ body: (OTLPLogsData) throws -> Result) rethrows -> Result {
        try body(templates[stampNext(nowNanos: nowNanos)])
    }

    /// One encoded request, stamped.
    struct Encoded {
        var bytes: [UInt8]
        var reservation: SequenceReservation
        /// Records in it and their body bytes.
        var records: Int
        var lineBytes: Int
    }

    /// Stamps the next template like ``withNextRequest(nowNanos:_:)``, encodes it with `encode` (which copies
    /// bodies verbatim: ``OTLPEncoding/encode(_:)``), takes the next sequence numbers of each of its services for
    /// its records and writes them, with `nowNanos` as the send time, into the markers of the encoded bytes.
    /// With `records` below ``recordsPerRequest`` (the last request of a `--count` run) only the template's first
    /// `records` records go out.
    mutating func encodeNextRequest(
        nowNanos: Int64, records limit: Int? = nil, _ encode: (OTLPLogsData) -> [UInt8]
    ) -> Encoded {
        let firstService = nextService
        let index = stampNext(nowNanos: nowNanos)
        var request = templates[index]
        var lineBytes = templateLineBytes[index]
        if let limit, limit < recordsPerRequest {
            // Only once a run: a trimmed copy of the template.
            request = Self.trimmed(request, to: limit)
            lineBytes = request.resourceLogs.flatMap { $0.scopeLogs.flatMap(\.logRecords) }.reduce(0) { total, record in
                if case .string(let body) = record.body { return total + body.utf8.count }
                return total
            }
        }
        var bytes = encode(request)
        var reservation = SequenceReservation()
        reservation.slots.reserveCapacity(request.resourceLogs.count)
        for (slot, resource) in request.resourceLogs.enumerated() {
            let records = resource.scopeLogs.reduce(0) { $0 + $1.logRecords.count }
            reservation.slots.append(ledger.take(stream: (firstService + slot) % serviceNames.count, count: records))
        }
        stamper.stamp(&bytes, worker: worker, sentNanos: nowNanos, slots: reservation.slots)
        return Encoded(bytes: bytes, reservation: reservation, records: reservation.slots.reduce(0) { $0 + $1.count },
                       lineBytes: lineBytes)
    }

    /// `request` with only its first `records` records (resources left empty are dropped).
    static func trimmed(_ request: OTLPLogsData, to records: Int) -> OTLPLogsData {
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

    /// Gives back the sequence numbers of a request that failed for good (see ``SequenceLedger``).
    mutating func release(_ reservation: SequenceReservation) { ledger.release(reservation) }

    /// Counts an acknowledged request's sequence numbers.
    mutating func acknowledge(_ reservation: SequenceReservation) { ledger.acknowledge(reservation) }

    private mutating func stampNext(nowNanos: Int64) -> Int {
        let index = nextTemplate
        nextTemplate = (nextTemplate + 1) % templates.count
        let now = UInt64(max(0, nowNanos))
        let serviceCount = serviceNames.count
        for resource in templates[index].resourceLogs.indices {
            templates[index].resourceLogs[resource].resource.attributes[0].value =
                serviceNames[(nextService + resource) % serviceCount]
            for scope in templates[index].resourceLogs[resource].scopeLogs.indices {
                for record in templates[index].resourceLogs[resource].scopeLogs[scope].logRecords.indices {
                    let time = now &+ UInt64(record)
                    templates[index].resourceLogs[resource].scopeLogs[scope].logRecords[record].timeUnixNano = time
                    templates[index].resourceLogs[resource].scopeLogs[scope].logRecords[record]
                        .observedTimeUnixNano = time
                }
            }
        }
        nextService = (nextService + templates[index].resourceLogs.count) % serviceCount
        return index
    }

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
    static func severity(ofLine line: [UInt8]) -> (number: Int32, text: String) {
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
