import Wire

/// `limits_config.deletion_mode`: what the delete API does for a tenant (Loki's `deletionmode`).
public enum DeletionMode: String, Sendable, Equatable, CaseIterable {
    /// The delete API answers 403 and queries are not filtered.
    case disabled
    /// Requests are taken and their lines hidden from queries, but the compactor never deletes them.
    case filterOnly = "filter-only"
    /// Lines are hidden from queries at once and deleted from the store once the cancel period is over.
    case filterAndDelete = "filter-and-delete"

    /// Whether queries leave out the lines of the tenant's delete requests.
    public var filtersQueries: Bool { self != .disabled }
}

/// One delete request of one tenant: the lines of the streams `query` selects (and its line filters keep), from
/// `start` to `end`, are to be deleted.
///
/// Times are Loki's `model.Time`: milliseconds since the epoch, `start` and `end` both inclusive.
public struct DeleteRequest: Sendable, Equatable {
    public enum Status: String, Sendable {
        /// Taken, not yet carried out: cancellable until `delete_request_cancel_period` has passed.
        case received
        /// The compactor has removed the lines from every index table and chunk of the store.
        case processed
    }

    /// Eight hex digits, unique within the tenant.
    public var id: String
    public var tenant: String
    /// The stream selector and optional line filters, as the client sent it.
    public var query: String
    public var start: Int64
    public var end: Int64
    public var createdAt: Int64
    public var status: Status

    public init(id: String, tenant: String, query: String, start: Int64, end: Int64, createdAt: Int64,
                status: Status = .received) {
        self.id = id
        self.tenant = tenant
        self.query = query
        self.start = start
        self.end = end
        self.createdAt = createdAt
        self.status = status
    }

    /// The query parsed for matching. Only queries that parsed are ever stored; a stored one that no longer
    /// parses (a hand-edited object) is reported by the caller.
    func compiled() throws(LogQLError) -> CompiledDeleteRequest {
        let selection = try LogSelection.parse(query)
        return CompiledDeleteRequest(request: self, matchers: selection.matchers, lineFilters: selection.lineFilters)
    }
}

/// A delete request with its query parsed: what the compactor and the querier test chunks and lines against.
struct CompiledDeleteRequest: Sendable {
    let request: DeleteRequest
    let matchers: [LabelMatcher]
    let lineFilters: LineFilterChain

    /// The deleted range in nanoseconds, both ends inclusive, as Loki compares an entry's time with the
    /// millisecond bounds.
    var startNanoseconds: Int64 { request.start.saturatingMultiplied(by: 1_000_000) }
    var endNanoseconds: Int64 { request.end.saturatingMultiplied(by: 1_000_000) }

    func matches(_ labels: [LabelPair]) -> Bool { Querier.matches(matchers, labels) }

    /// Whether the request may delete something of a chunk spanning `from`...`through` milliseconds.
    func overlaps(from: Int64, through: Int64) -> Bool {
        !(from > request.end || request.start > through)
    }

    /// Whether every line of a chunk spanning `from`...`through` milliseconds is deleted, so that the chunk can
    /// leave the index without being read (Loki's rule: covered in time and no line filter).
    func coversWhole(from: Int64, through: Int64) -> Bool {
        lineFilters.isEmpty && request.start <= from && request.end >= through
    }

    /// Whether this request deletes the line at `timestamp` (nanoseconds) of a stream it matches.
    func deletes(timestamp: Int64, line: UnsafeRawBufferPointer) -> Bool {
        guard timestamp >= startNanoseconds, timestamp <= endNanoseconds else { return false }
        return lineFilters.isEmpty || lineFilters.matches(line)
    }
}

// MARK: Stored form

/// A stored delete request that cannot be read back.
struct DeleteRequestFormatError: JSONSyntaxFailure, CustomStringConvertible {
    let reason: String
    let offset: Int

    init(jsonSyntax reason: String, offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    var description: String { "delete request object: \(reason) at byte \(offset)" }
}

extension DeleteRequest {
    /// The object `compactor/delete_requests/<tenant>/<id>` holds: one JSON object, times in integer
    /// milliseconds (see docs/storage.md).
    func encoded() -> [UInt8] {
        var json = JSONWriter(capacity: 128 + query.utf8.count)
        json.raw("{\"request_id\":")
        json.string(id)
        json.raw(",\"user_id\":")
        json.string(tenant)
        json.raw(",\"query\":")
        json.string(query)
        json.raw(",\"start_time\":")
        json.decimal(start)
        json.raw(",\"end_time\":")
        json.decimal(end)
        json.raw(",\"created_at\":")
        json.decimal(createdAt)
        json.raw(",\"status\":")
        json.string(status.rawValue)
        json.raw("}")
        return json.bytes
    }

    /// Reads what `encoded()` wrote; unknown members are skipped so a later version may add some.
    static func decode(_ bytes: [UInt8]) throws(DeleteRequestFormatError) -> DeleteRequest {
        let result: Result<DeleteRequest, DeleteRequestFormatError> = bytes.withUnsafeBufferPointer { buffer in
            var scanner = JSONScanner<DeleteRequestFormatError>(input: buffer)
            defer { scanner.release() }
            do throws(DeleteRequestFormatError) {
                return .success(try read(&scanner))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private static func read(
        _ scanner: inout JSONScanner<DeleteRequestFormatError>
    ) throws(DeleteRequestFormatError) -> DeleteRequest {
        scanner.skipWhitespace()
        guard try scanner.peek() == UInt8(ascii: "{") else {
            throw scanner.failure("expected an object")
        }
        var strings: [String: String] = [:]
        var numbers: [String: Int64] = [:]
        if try scanner.beginObject() {
            repeat {
                let key = String(decoding: try scanner.key(), as: UTF8.self)
                switch key {
                case "request_id", "user_id", "query", "status":
                    strings[key] = String(decoding: try scanner.string(), as: UTF8.self)
                case "start_time", "end_time", "created_at":
                    let text = String(decoding: try scanner.number(), as: UTF8.self)
                    guard let value = Int64(text) else { throw scanner.failure("\(key) is not whole milliseconds") }
                    numbers[key] = value
                default:
                    try scanner.skipValue()
                }
            } while try scanner.nextMember()
        }
        guard let id = strings["request_id"], let tenant = strings["user_id"], let query = strings["query"],
              let statusText = strings["status"], let status = Status(rawValue: statusText),
              let start = numbers["start_time"], let end = numbers["end_time"], let createdAt = numbers["created_at"]
        else {
            throw scanner.failure("a member is missing or has an unknown value")
        }
        return DeleteRequest(id: id, tenant: tenant, query: query, start: start, end: end, createdAt: createdAt,
                             status: status)
    }
}

// MARK: API form

extension DeleteRequest {
    /// `GET /loki/api/v1/delete`: Loki's JSON array, times as Prometheus `model.Time` (seconds with the
    /// milliseconds as a fraction), in the order given.
    static func apiJSON(_ requests: [DeleteRequest]) -> [UInt8] {
        var json = JSONWriter()
        json.array(requests) { json, request in
            json.raw("{\"request_id\":")
            json.string(request.id)
            json.raw(",\"start_time\":")
            json.raw(ChunkObject.modelTime(request.start))
            json.raw(",\"end_time\":")
            json.raw(ChunkObject.modelTime(request.end))
            json.raw(",\"query\":")
            json.string(request.query)
            json.raw(",\"status\":")
            json.string(request.status.rawValue)
            json.raw(",\"created_at\":")
            json.raw(ChunkObject.modelTime(request.createdAt))
            json.raw("}")
        }
        json.raw("\n")
        return json.bytes
    }
}
