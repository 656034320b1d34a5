import Hummingbird
import Wire

extension LokiAPI {
    /// `query_range` of a metric query: a matrix over `start`, `start + step`, ... up to `end`.
    func metricRangeQuery(
        _ expression: SampleExpression, tenant: String, params: QueryParameters, limits: Limits
    ) async throws -> Response {
        let (start, end) = try timeRange(params, limits: limits)
        let step = try step(params, start: start, end: end)
        let steps = EvaluationSteps(start: start, end: end, step: step, isInstant: false)
        return try await runMetricQuery(expression, tenant: tenant, steps: steps, limits: limits)
    }

    /// `query` of a metric query: a vector (or scalar) at `time`, by default now.
    func metricInstantQuery(
        _ expression: SampleExpression, tenant: String, params: QueryParameters, limits: Limits
    ) async throws -> Response {
        var time = now()
        if let value = params["time"] {
            guard let parsed = QueryParameters.parseTime(value) else {
                throw APIError.badRequest("invalid time parameter: cannot parse \"\(value)\" to a valid timestamp")
            }
            time = parsed
        }
        var steps = EvaluationSteps(start: time, end: time, step: 1, isInstant: true)
        if limits.maxQueryLookback > 0, time < now().saturatingSubtracting(limits.maxQueryLookback) {
            // Before the lookback: nothing is read, and the answer is empty.
            steps.end = time - 1
        }
        return try await runMetricQuery(expression, tenant: tenant, steps: steps, limits: limits)
    }

    private func runMetricQuery(
        _ expression: SampleExpression, tenant: String, steps: EvaluationSteps, limits: Limits
    ) async throws -> Response {
        let evaluator = MetricEvaluator(expression: expression, steps: steps)
        var earliest = steps.start
        for leaf in evaluator.leaves { earliest = min(earliest, evaluator.sampleSpan(leaf).from) }
        let deletes = try await deleteFilter(tenant: tenant, limits: limits, start: earliest, end: steps.end.saturatingAdding(1))
        do {
            let (result, stats) = try await Self.withQueryTimeout(limits) {
                try await frontend.evaluate(expression, tenant: tenant, steps: steps, limits: limits, deletes: deletes)
            }
            return body(200, LokiJSON.metric(result, stats: stats), contentType: "application/json")
        } catch let error as MetricQueryError {
            throw APIError.badRequest(error.description)
        }
    }

    /// `format_query`: the query as LogQL text from its syntax tree (`{"status":"success","data":"…"}`).
    func formatQuery(_ request: Request) async throws -> Response {
        let params = try await parameters(request)
        let expression = try LogQLParser.parse(params["query"] ?? "")
        var json = JSONWriter()
        json.raw("{\"status\":\"success\",\"data\":")
        json.string(expression.description)
        json.raw("}")
        return body(200, json.bytes, contentType: "application/json")
    }
}
