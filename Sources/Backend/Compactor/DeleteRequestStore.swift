import Logging
/// Every tenant's delete requests, one object each in the object store the chunks live in
/// (`compactor/delete_requests/<tenant>/<request id>`), so that a restarted backend, or a fresh one on the same
/// bucket, carries on with them.
///
/// Called by the delete API (add, list, cancel), by the compactor (pending requests, marking one processed) and by
/// queries (a tenant's requests, to hide their lines). Queries read a per-tenant copy kept for `refreshAfter`;
/// every change made through this store updates that copy at once, so in one process a query sees a request as
/// soon as the API has taken it. Another process on the same bucket sees it within `refreshAfter`.
public actor DeleteRequestStore {
    static let prefix = "compactor/delete_requests/"

    private let store: any ObjectStore
    private let refreshAfter: Duration
    private let logger: Logger
    private var cached: [String: (loaded: ContinuousClock.Instant, requests: [DeleteRequest])] = [:]
    /// Bumped by every change made through this store, per tenant: a listing that began before a change is not
    /// kept as the tenant's copy (it may miss the change).
    private var generation: [String: Int] = [:]
    /// Objects that could not be read as requests, logged once each.
    private var unreadable: Set<String> = []

    public init(store: any ObjectStore, refreshAfter: Duration = .seconds(60),
                logger: Logger = Logger(label: "estuary.delete-requests")) {
        self.store = store
        self.refreshAfter = refreshAfter
        self.logger = logger
    }

    static func key(tenant: String, id: String) -> String { "\(prefix)\(tenant)/\(id)" }

    /// Stores a new request, status `received`, under a fresh id. `now`: milliseconds.
    func add(tenant: String, _ parameters: DeleteRequestParameters, now: Int64) async throws -> DeleteRequest {
        var request = DeleteRequest(id: "", tenant: tenant, query: parameters.query, start: parameters.start,
                                    end: parameters.end, createdAt: now)
        repeat {
            let id = String(UInt32.random(in: 0...UInt32.max), radix: 16)
            request.id = String(repeating: "0", count: 8 - id.count) + id
        } while try await find(tenant: tenant, id: request.id) != nil
        try await write(request)
        return request
    }

    /// The tenant's requests, oldest first, read from the store.
    func list(tenant: String) async throws -> [DeleteRequest] {
        let before = generation[tenant, default: 0]
        let requests = try await load(prefix: "\(Self.prefix)\(tenant)/").filter { $0.tenant == tenant }
        if generation[tenant, default: 0] == before { cached[tenant] = (ContinuousClock.now, requests) }
        return requests
    }

    /// Every tenant's requests, oldest first: what the compactor works through.
    func all() async throws -> [DeleteRequest] {
        try await load(prefix: Self.prefix)
    }

    /// The tenant's requests as queries see them: the copy read at most `refreshAfter` ago.
    /// When the store cannot be read, the last copy is used (and the failure logged) rather than failing queries.
    func forQueries(tenant: String) async throws -> [DeleteRequest] {
        if let entry = cached[tenant], ContinuousClock.now - entry.loaded < refreshAfter { return entry.requests }
        do {
            return try await list(tenant: tenant)
        } catch let error where !(error is CancellationError) {
            guard let stale = cached[tenant] else { throw error }
            logger.warning("delete requests could not be read again; queries use the last copy",
                           metadata: ["user": "\(tenant)", "error": "\(error)"])
            return stale.requests
        }
    }

    /// The request, or nil when the tenant has none with that id. Ids are only ever hex digits, so anything else
    /// (a `/`, an empty id) is simply not found.
    func find(tenant: String, id: String) async throws -> DeleteRequest? {
        guard !id.isEmpty, id.utf8.count <= 16, id.unicodeScalars.allSatisfy({ $0.properties.isASCIIHexDigit })
        else { return nil }
        do {
            let request = try DeleteRequest.decode(try await store.get(Self.key(tenant: tenant, id: id)))
            return request.tenant == tenant ? request : nil
        } catch let error as ObjectStoreError where error.kind == .notFound {
            return nil
        }
    }

    /// What `cancel` did.
    enum CancelOutcome: Equatable {
        case cancelled
        case notFound
        /// Processed, or past its cancel period without `force`.
        case tooLate
    }

    /// Cancels (removes) a request that has not been processed and is still within its cancel period, or, with
    /// `force`, one whose cancel period is over but which is not processed yet (some of its lines may already be
    /// gone). `now` and `cancelPeriod`: milliseconds.
    func cancel(tenant: String, id: String, force: Bool, now: Int64, cancelPeriod: Int64) async throws -> CancelOutcome {
        guard let request = try await find(tenant: tenant, id: id) else { return .notFound }
        guard request.status == .received else { return .tooLate }
        if !force && now >= request.createdAt.saturatingAdding(cancelPeriod) { return .tooLate }
        try await store.delete(Self.key(tenant: tenant, id: id))
        generation[tenant, default: 0] += 1
        cached[tenant]?.requests.removeAll { $0.id == id }
        return .cancelled
    }

    /// Records that the compactor has carried the request out; returns false, writing nothing, when the request
    /// is gone (cancelled with `force` meanwhile) or no longer `received`.
    @discardableResult
    func markProcessed(_ request: DeleteRequest) async throws -> Bool {
        guard var processed = try await find(tenant: request.tenant, id: request.id), processed.status == .received
        else { return false }
        processed.status = .processed
        try await write(processed)
        return true
    }

    private func write(_ request: DeleteRequest) async throws {
        try await store.put(Self.key(tenant: request.tenant, id: request.id), request.encoded())
        generation[request.tenant, default: 0] += 1
        if var entry = cached[request.tenant] {
            entry.requests.removeAll { $0.id == request.id }
            entry.requests.append(request)
            entry.requests.sort(by: Self.order)
            cached[request.tenant] = entry
        }
    }

    /// Reads every request under `prefix`; a request cancelled between the listing and its read is left out, and so
    /// is an object that is not a request (logged once), so that one damaged object stops nothing.
    private func load(prefix: String) async throws -> [DeleteRequest] {
        var requests: [DeleteRequest] = []
        for object in try await store.list(prefix: prefix) {
            let bytes: [UInt8]
            do {
                bytes = try await store.get(object.key)
            } catch let error as ObjectStoreError where error.kind == .notFound {
                continue
            }
            do {
                requests.append(try DeleteRequest.decode(bytes))
            } catch {
                if unreadable.insert(object.key).inserted {
                    logger.error("object cannot be read as a delete request; it is left out",
                                 metadata: ["key": "\(object.key)", "error": "\(error)"])
                }
            }
        }
        return requests.sorted(by: Self.order)
    }

    private static func order(_ a: DeleteRequest, _ b: DeleteRequest) -> Bool {
        (a.createdAt, a.tenant, a.id) < (b.createdAt, b.tenant, b.id)
    }
}
