import NIOHTTP1
import Wire

/// The Loki push load (`push`, `fill`, `encode-bench`): `PushRequest`s to `/loki/api/v1/push`, protobuf with snappy
/// or JSON, one group per stream with labels `{job="gen", stream="N", service="svc-M"}`.
struct PushMode: LoadMode {
    /// The backend's base URL, without a trailing slash.
    var baseURL: String
    /// Sent as `X-Scope-OrgID` (empty: no header).
    var tenant: String
    var encoding: BodyEncoding
    /// Every stream's labels, shared by all workers.
    var streamLabels: [String]

    init(baseURL: String, tenant: String, encoding: BodyEncoding, streams: Int) {
        self.baseURL = baseURL
        self.tenant = tenant
        self.encoding = encoding
        self.streamLabels = Self.makeStreamLabels(count: streams)
    }

    /// The labels of `count` streams: `{job="gen", stream="N", service="svc-M"}`.
    static func makeStreamLabels(count: Int) -> [String] {
        (0..<max(1, count)).map { "{job=\"gen\", stream=\"\($0)\", service=\"svc-\($0 % 8)\"}" }
    }

    var groupCount: Int { streamLabels.count }

    func makeTemplates(_ lines: [[[ArraySlice<UInt8>]]], worker: Int) -> [PushRequest] {
        lines.map { streams in
            PushRequest(streams: streams.map { entries in
                PushStream(labels: "", entries: entries.map { PushEntry(timestamp: 0, line: $0) })
            })
        }
    }

    func stamp(_ request: inout PushRequest, nowNanos: Int64, firstGroup: Int) {
        for stream in request.streams.indices {
            request.streams[stream].labels = streamLabels[(firstGroup + stream) % streamLabels.count]
            for entry in request.streams[stream].entries.indices {
                request.streams[stream].entries[entry].timestamp = nowNanos &+ Int64(entry)
            }
        }
    }

    func recordCounts(_ request: PushRequest) -> [Int] { request.streams.map(\.entries.count) }

    func trimmed(_ request: PushRequest, to records: Int) -> PushRequest {
        var left = max(0, records)
        var out = PushRequest(streams: [])
        for stream in request.streams where left > 0 {
            let kept = Array(stream.entries.prefix(left))
            left -= kept.count
            out.streams.append(PushStream(labels: stream.labels, entries: kept))
        }
        return out
    }

    func serialize(_ request: PushRequest) -> [UInt8] { encoding.serialize(request) }

    func compress(_ serialized: [UInt8]) -> [UInt8] { encoding.compress(serialized) }

    var urlCount: Int { 1 }

    func url(worker: Int) -> String { baseURL + "/loki/api/v1/push" }

    var headers: HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: encoding.contentType)
        headers.add(name: "User-Agent", value: "estuary-loadgen")
        if !tenant.isEmpty { headers.add(name: "X-Scope-OrgID", value: tenant) }
        return headers
    }

    /// Loki answers a push with an empty 204: nothing to read.
    var successBodyLimit: Int { 0 }

    func success(status: Int, body: [UInt8], contentType: String?, latency: Duration) -> SendOutcome {
        SendOutcome(status: status, latency: latency)
    }

    var progressNames: (records: String, errors: String) { ("lines", "failures") }
}
