import Hummingbird

/// Times every request into `loki_request_duration_seconds{method,route,status_code}`, with routes named the
/// way Loki names them (`loki_api_v1_push`).
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: BackendMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let route = Self.routeName(context.endpointPath ?? "other")
        do {
            let response = try await next(request, context)
            metrics.request(method: request.method.rawValue, route: route, status: response.status.code,
                            duration: ContinuousClock.now - started)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.request(method: request.method.rawValue, route: route, status: status,
                            duration: ContinuousClock.now - started)
            throw error
        }
    }

    static func routeName(_ path: String) -> String {
        var name = ""
        for scalar in path.unicodeScalars {
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "_": name.unicodeScalars.append(scalar)
            case "/", "-", ".": name += "_"
            case ":", "{", "}": name += ""
            default: break
            }
        }
        while name.hasPrefix("_") { name.removeFirst() }
        return name.isEmpty ? "root" : name
    }
}
