import Hummingbird
import Logging
import Wire

/// Loki's log deletion endpoints (`pkg/compactor/deletion/request_handler.go`): add, list and cancel the tenant's
/// delete requests. Every request is the tenant's own: ids are looked up under the caller's tenant only.
extension LokiAPI {
    func addDeleteRoutes(_ router: Router<BasicRequestContext>, _ deletes: DeleteRequestsAPI) {
        for method in [HTTPRequest.Method.post, .put] {
            router.on("/loki/api/v1/delete", method: method) { request, _ in
                try await handle { try await addDeleteRequest(request, deletes) }
            }
        }
        router.get("/loki/api/v1/delete") { request, _ in
            try await handle { try await listDeleteRequests(request, deletes) }
        }
        router.delete("/loki/api/v1/delete") { request, _ in
            try await handle { try await cancelDeleteRequest(request, deletes) }
        }
    }

    /// The caller's tenant, refused with 403 when its `deletion_mode` is `disabled` (Loki's `TenantMiddleware`).
    private func deletionTenant(_ request: Request) throws -> String {
        let tenant = try tenant(request)
        guard settings.limits(tenant).deletionMode != .disabled else {
            throw APIError(status: 403, message: "deletion is not available for this tenant")
        }
        return tenant
    }

    private func addDeleteRequest(_ request: Request, _ deletes: DeleteRequestsAPI) async throws -> Response {
        let tenant = try deletionTenant(request)
        // Loki reads these from the URL only, not from a form body.
        let params = QueryParameters(query: request.uri.query, formBody: nil)
        let nowMs = now() / 1_000_000
        let parameters: DeleteRequestParameters
        do {
            parameters = try DeleteRequestParameters.parse(
                query: params["query"], start: params["start"], end: params["end"],
                maxInterval: params["max_interval"], now: nowMs,
                maxIntervalLimit: DurationText.nanoseconds(deletes.maxInterval))
        } catch {
            throw APIError.badRequest(error.message)
        }
        let added = try await storeCall(deletes) { try await deletes.store.add(tenant: tenant, parameters, now: nowMs) }
        deletes.metrics.received(tenant: tenant)
        deletes.logger.info("delete request for user added", metadata: [
            "delete_request_id": "\(added.id)", "user": "\(tenant)", "query": "\(added.query)",
        ])
        return Response(status: .noContent)
    }

    private func listDeleteRequests(_ request: Request, _ deletes: DeleteRequestsAPI) async throws -> Response {
        let tenant = try deletionTenant(request)
        let requests = try await storeCall(deletes) { try await deletes.store.list(tenant: tenant) }
        return body(200, DeleteRequest.apiJSON(requests), contentType: "application/json")
    }

    private func cancelDeleteRequest(_ request: Request, _ deletes: DeleteRequestsAPI) async throws -> Response {
        let tenant = try deletionTenant(request)
        let params = QueryParameters(query: request.uri.query, formBody: nil)
        let id = params["request_id"] ?? ""
        let force = params["force"] == "true"
        let nowMs = now() / 1_000_000
        let cancelPeriod = DurationText.nanoseconds(deletes.cancelPeriod) / 1_000_000
        let outcome = try await storeCall(deletes) {
            try await deletes.store.cancel(tenant: tenant, id: id, force: force, now: nowMs, cancelPeriod: cancelPeriod)
        }
        switch outcome {
        case .cancelled:
            return Response(status: .noContent)
        case .notFound:
            throw APIError(status: 404, message: "could not find delete request with given id")
        case .tooLate:
            throw APIError.badRequest("deletion of request which is in process or already processed is not allowed")
        }
    }

    /// The filter a query of `tenant` over [start, end) applies: the tenant's delete requests, unless deletion is
    /// off for it.
    func deleteFilter(tenant: String, limits: Limits, start: Int64, end: Int64) async throws -> DeleteFilter {
        guard let deletes, limits.deletionMode.filtersQueries else { return .none }
        let requests = try await storeCall(deletes) { try await deletes.store.forQueries(tenant: tenant) }
        return DeleteFilter(requests, start: start, end: end)
    }

    /// A failure of the object store is the server's, answered 500 with what went wrong.
    private func storeCall<T>(_ deletes: DeleteRequestsAPI, _ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch let error as CancellationError {
            throw error
        } catch {
            deletes.logger.error("delete request store failed", metadata: ["error": "\(error)"])
            throw APIError(status: 500, message: "\(error)")
        }
    }
}
