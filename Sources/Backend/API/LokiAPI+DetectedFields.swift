import GoCompat
import Hummingbird
import Wire

/// `GET /loki/api/v1/detected_fields`: the fields of the newest `line_limit` lines a log query selects, as Grafana's
/// Logs Drilldown asks for them: structured metadata, and what `json` (for a line that starts with `{`) or `logfmt`
/// extract from each line, with a type guessed from the values and an exact count of distinct values.
extension LokiAPI {
    func addDetectedFieldsRoute(_ router: Router<BasicRequestContext>) {
        route(router, "/loki/api/v1/detected_fields") { request, _ in
            try await handle { try await detectedFields(request) }
        }
    }

    private struct Field {
        var values = Set<String>()
        var type: String?
        var parsers = Set<String>()
        var fromMetadata = false
    }

    private func detectedFields(_ request: Request) async throws -> Response {
        let tenant = try tenant(request)
        let params = try await parameters(request)
        let limits = settings.limits(tenant)
        guard let text = params["query"], !text.isEmpty else { throw APIError.badRequest("query must not be empty") }
        guard case .log(let log) = try LogQLParser.parse(text) else {
            throw APIError.badRequest("detected_fields takes a log query, not a metric query")
        }
        let (start, end) = try timeRange(params, limits: limits)
        let lineLimit = try positiveInt(params, "line_limit", default: 1000)
        let fieldLimit = try positiveInt(params, "limit", default: 1000)
        let (leading, pipeline) = try LogPipeline.split(log.stages)
        var query = LogQuery(tenant: tenant, matchers: log.matchers, lineFilters: leading, start: start, end: end,
                             limit: min(lineLimit, max(1, limits.maxEntriesLimitPerQuery)), direction: .backward)
        query.pipeline = pipeline
        query.deletes = try await deleteFilter(tenant: tenant, limits: limits, start: start, end: end)
        let selected = query
        let (streams, _) = try await Self.withQueryTimeout(limits) { try await frontend.selectLogs(selected, limits: limits) }

        let json = try LogPipeline([.json([])])
        let logfmt = try LogPipeline([.logfmt(strict: false, keepEmpty: false, [])])
        var fields: [String: Field] = [:]
        for stream in streams {
            let parsers = (json: json.stream(labels: stream.labels), logfmt: logfmt.stream(labels: stream.labels))
            for entry in stream.entries {
                for pair in entry.structuredMetadata {
                    fields[pair.name, default: Field()].fromMetadata = true
                    Self.add(pair.value, to: &fields[pair.name, default: Field()])
                }
                let isJSON = entry.line.first { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") } == UInt8(ascii: "{")
                let parser = isJSON ? "json" : "logfmt"
                let result = entry.line.withUnsafeBytes { line in
                    (isJSON ? parsers.json : parsers.logfmt).process(timestamp: entry.timestamp, line: line, metadata: [])
                }
                guard let result, result.labels[LogPipeline.errorLabel] == nil else { continue }
                for pair in result.labels.pairs where stream.labels[pair.name] == nil {
                    fields[pair.name, default: Field()].parsers.insert(parser)
                    Self.add(pair.value, to: &fields[pair.name, default: Field()])
                }
            }
        }
        var out = JSONWriter()
        out.raw("{\"fields\":[")
        for (index, name) in fields.keys.sorted().prefix(fieldLimit).enumerated() {
            guard let field = fields[name] else { continue }
            if index > 0 { out.raw(",") }
            out.raw("{\"label\":")
            out.string(name)
            out.raw(",\"type\":")
            out.string(field.type ?? "string")
            out.raw(",\"cardinality\":")
            out.number(field.values.count)
            out.raw(",\"parsers\":")
            if field.parsers.isEmpty {
                out.raw("null")
            } else {
                out.raw("[")
                for (position, parser) in field.parsers.sorted().enumerated() {
                    if position > 0 { out.raw(",") }
                    out.string(parser)
                }
                out.raw("]")
            }
            out.raw("}")
        }
        out.raw("],\"limit\":")
        out.number(fieldLimit)
        out.raw("}")
        return body(200, out.bytes, contentType: "application/json")
    }

    private func positiveInt(_ params: QueryParameters, _ name: String, default value: Int) throws -> Int {
        guard let text = params[name], !text.isEmpty else { return value }
        guard let parsed = Int(text), parsed > 0 else {
            throw APIError.badRequest("invalid \(name) parameter: \"\(text)\" is not a positive integer")
        }
        return parsed
    }

    /// Records a value, and the field's type from its first value as Loki's `determineType`: int, float, boolean,
    /// duration, bytes, else string.
    private static func add(_ value: String, to field: inout Field) {
        field.values.insert(value)
        guard field.type == nil else { return }
        if Int64(value) != nil {
            field.type = "int"
        } else if Double(value) != nil {
            field.type = "float"
        } else if ["true", "false", "True", "False", "TRUE", "FALSE", "t", "f", "T", "F", "1", "0"].contains(value) {
            field.type = "boolean"
        } else if LogQLDurations.goNanoseconds(value) != nil {
            field.type = "duration"
        } else if LogQLDurations.bytes(value) != nil {
            field.type = "bytes"
        } else {
            field.type = "string"
        }
    }
}
