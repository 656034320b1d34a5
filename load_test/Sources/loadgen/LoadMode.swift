import NIOHTTP1

/// What differs between the loads `loadgen` sends (Loki push, OTLP/HTTP logs): the request a template is, how it is
/// stamped, serialized and compressed, where it goes and how a 2xx answer is read. ``RequestPool`` and
/// ``LoadRunner`` are written once over it; ``PushMode`` and ``OTLPMode`` are the two modes.
///
/// A request's records are spread over *groups* (push: streams; OTLP: resources, one per service), each group
/// named by one of ``groupCount`` names that successive requests rotate through. A mode is a value shared by every
/// worker of a run: the pool calls its template methods while it is built (before the clock starts) and on every
/// send, from the worker's task; the runner calls the wire methods from the workers' tasks. None may block.
protocol LoadMode: Sendable {
    /// One request template (`PushRequest`, `OTLPLogsData`).
    associatedtype Request: Sendable

    /// How many group names requests rotate through (push: `--streams`; OTLP: `--services`); at least 1.
    var groupCount: Int { get }

    /// Builds the templates from their lines: `lines[template][group]` are that group's records' lines, each ending
    /// in a marker placeholder, in order. `worker` seeds whatever else the mode varies (OTLP: attribute values).
    func makeTemplates(_ lines: [[[ArraySlice<UInt8>]]], worker: Int) -> [Request]

    /// Stamps `request` for a send: record `j` of a group gets the timestamp `nowNanos + j`, and group `g` the name
    /// of group `(firstGroup + g) % groupCount`.
    func stamp(_ request: inout Request, nowNanos: Int64, firstGroup: Int)

    /// The records of each group of `request`, in order.
    func recordCounts(_ request: Request) -> [Int]

    /// `request` with only its first `records` records (groups left empty are dropped).
    func trimmed(_ request: Request, to records: Int) -> Request

    /// The request encoded, before compression. Lines must be copied verbatim, so that the markers' digits can be
    /// written in place afterwards.
    func serialize(_ request: Request) -> [UInt8]

    /// A ``serialize(_:)`` output made into the body sent (snappy, gzip or nothing).
    func compress(_ serialized: [UInt8]) -> [UInt8]

    /// How many distinct URLs the workers send to.
    var urlCount: Int { get }

    /// The URL worker `worker` sends to.
    func url(worker: Int) -> String

    /// The headers of every request.
    var headers: HTTPHeaders { get }

    /// How many bytes of a 2xx answer ``success(status:body:contentType:latency:)`` needs (0: none).
    var successBodyLimit: Int { get }

    /// Reads a 2xx answer (its first ``successBodyLimit`` bytes).
    func success(status: Int, body: [UInt8], contentType: String?, latency: Duration) -> SendOutcome

    /// What progress lines call records and refused requests (`lines`, `failures`).
    var progressNames: (records: String, errors: String) { get }
}
