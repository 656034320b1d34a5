import Hummingbird
import Wire

/// Loki's index endpoints (`index/stats`, `index/volume`, `index/volume_range`), `detected_labels`, and
/// `patterns` (no pattern ingester: always empty). The figures come from chunk references (index and ingester),
/// never from reading chunks.
extension LokiAPI {
    func addIndexRoutes(_ router: Router<BasicRequestContext>) {
        route(router, "/loki/api/v1/index/stats") { request, _ in try await handle { try await indexStats(request) } }
        route(router, "/loki/api/v1/index/volume") { request, _ in
            try await handle { try await volume(request, range: false) }
        }
        route(router, "/loki/api/v1/index/volume_range") { request, _ in
            try await handle { try await volume(request, range: true) }
        }
        route(router, "/loki/api/v1/detected_labels") { request, _ in
            try await handle { try await detectedLabels(request) }
        }
        route(router, "/loki/api/v1/patterns") { request, _ in
            try await handle {
                _ = try tenant(request)
                return body(200, Array("{\"status\":\"success\",\"data\":[]}".utf8), contentType: "application/json")
            }
        }
    }

    /// `step` as Loki's range queries read it: seconds (a float) or a Prometheus duration; by default the range /
    /// 250, at least a second. Nanoseconds.
    func step(_ params: QueryParameters, start: Int64, end: Int64) throws -> Int64 {
        guard let value = params["step"], !value.isEmpty else {
            return max((end.saturatingSubtracting(start) / 1_000_000_000) / 250, 1) * 1_000_000_000
        }
        let parsed: Int64
        if let seconds = Double(value), seconds.isFinite {
            let nanoseconds = seconds * 1e9
            guard nanoseconds.magnitude < 9.2e18 else {
                throw APIError.badRequest("invalid step parameter: cannot parse \"\(value)\" to a valid duration. It overflows int64")
            }
            parsed = Int64(nanoseconds)
        } else if let duration = QueryParameters.parseDuration(value) {
            parsed = duration
        } else {
            throw APIError.badRequest("invalid step parameter: cannot parse \"\(value)\" to a valid duration")
        }
        guard parsed > 0 else {
            throw APIError.badRequest("zero or negative query resolution step widths are not accepted. Try a positive integer")
        }
        if end.saturatingSubtracting(start) / parsed > 11_000 {
            throw APIError.badRequest("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
        }
        return parsed
    }

    private func indexStats(_ request: Request) async throws -> Response {
        let tenant = try tenant(request)
        let params = try await parameters(request)
        let limits = settings.limits(tenant)
        let (start, end) = try timeRange(params, limits: limits)
        _ = try limitAndDirection(params, limits: limits)
        _ = try step(params, start: start, end: end)
        let matchers = try Self.matchersOnly(params["query"] ?? "")
        let stats = try await Self.withQueryTimeout(limits) {
            try await querier.indexStats(tenant: tenant, from: start / 1_000_000, through: end / 1_000_000,
                                         matchers: matchers)
        }
        return body(200, LokiJSON.indexStats(stats), contentType: "application/json")
    }

    /// `index/volume` (one sample per group, at `end`) and `index/volume_range` (one per `step` bucket, each at its
    /// bucket's end), as Loki's volume middleware splits and times them.
    private func volume(_ request: Request, range: Bool) async throws -> Response {
        let tenant = try tenant(request)
        let params = try await parameters(request)
        let limits = settings.limits(tenant)
        var limit = 100
        if let value = params["limit"], !value.isEmpty {
            guard let parsed = Int(value) else {
                throw APIError.badRequest("invalid limit parameter: strconv.ParseInt: parsing \"\(value)\": invalid syntax")
            }
            guard parsed >= 0 else { throw APIError.badRequest("limit must be a positive value") }
            if parsed > 0 { limit = parsed }
        }
        let (start, end) = try timeRange(params, limits: limits)
        let stepNanoseconds = range ? try step(params, start: start, end: end) : 0
        let aggregateBy: VolumeAggregation
        switch params["aggregateBy"] ?? "" {
        case "", "series": aggregateBy = .series
        case "labels": aggregateBy = .labels
        default: throw APIError.badRequest("invalid aggregation option")
        }
        let targets = (params["targetLabels"] ?? "").split(separator: ",").map(String.init)
        let text = params["query"] ?? ""
        let matchAll = text == "{}"
        let matchers = matchAll ? [] : try Self.matchersOnly(text)
        let buckets = Self.volumeBuckets(start: start, end: end, step: stepNanoseconds)
        let groupLimit = limit
        let results = try await Self.withQueryTimeout(limits) {
            var results: [(milliseconds: Int64, groups: [VolumeGroup])] = []
            for bucket in buckets {
                // Loki asks each bucket for whole seconds (`model.TimeFromUnix(start.Unix())`).
                let groups = try await querier.volume(
                    tenant: tenant, from: Self.floorSeconds(bucket.start) * 1000,
                    through: Self.floorSeconds(bucket.end) * 1000, matchers: matchers, matchAll: matchAll,
                    targetLabels: targets, aggregateBy: aggregateBy, limit: groupLimit)
                results.append((Self.floorDivide(bucket.end, 1_000_000), groups))
            }
            return results
        }
        var series: [String: (labels: [LabelPair], samples: [(milliseconds: Int64, bytes: Int)])] = [:]
        for (milliseconds, groups) in results {
            for group in groups {
                series[group.name, default: (labels: group.labels, samples: [])].samples.append((milliseconds, group.bytes))
            }
        }
        // Loki's order: by the first sample, largest first, then by name.
        let ordered = series.sorted { a, b in
            let x = a.value.samples[0].bytes, y = b.value.samples[0].bytes
            return x != y ? x > y : a.key < b.key
        }.map { (labels: $0.value.labels, samples: $0.value.samples.sorted { $0.milliseconds < $1.milliseconds }) }
        return body(200, LokiJSON.volume(ordered), contentType: "application/json")
    }

    /// Loki's `util.ForInterval` with inclusive ends: buckets aligned to multiples of `step`, the first starting at
    /// `start`, each ending a millisecond before the next boundary, the last at `end`. A step of 0: one bucket.
    static func volumeBuckets(start: Int64, end: Int64, step: Int64) -> [(start: Int64, end: Int64)] {
        guard step > 0 else { return [(start, end)] }
        var buckets: [(start: Int64, end: Int64)] = []
        var boundary = start - floorModulo(start, step)
        while boundary < end {
            var bucketEnd = boundary.saturatingAdding(step)
            if bucketEnd >= end { bucketEnd = end } else { bucketEnd -= 1_000_000 }
            buckets.append((buckets.isEmpty ? start : boundary, bucketEnd))
            boundary = boundary.saturatingAdding(step)
        }
        return buckets
    }

    static func floorSeconds(_ nanoseconds: Int64) -> Int64 { floorDivide(nanoseconds, 1_000_000_000) }

    static func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && a < 0) ? q - 1 : q
    }

    static func floorModulo(_ a: Int64, _ b: Int64) -> Int64 {
        a - floorDivide(a, b) * b
    }

    private func detectedLabels(_ request: Request) async throws -> Response {
        let tenant = try tenant(request)
        let params = try await parameters(request)
        let limits = settings.limits(tenant)
        let (start, end) = try timeRange(params, limits: limits, inclusiveEnd: true)
        let matchers = try params["query"].flatMap { $0.isEmpty ? nil : try Self.matchersOnly($0) }
        let labels = try await Self.withQueryTimeout(limits) {
            try await querier.detectedLabels(tenant: tenant, start: start, end: end, matchers: matchers)
        }
        return body(200, LokiJSON.detectedLabels(labels), contentType: "application/json")
    }
}
