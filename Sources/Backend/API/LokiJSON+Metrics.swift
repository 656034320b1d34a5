import GoCompat
import Wire

extension LokiJSON {
    /// A metric query's answer: Loki's `matrix`, `vector` or `scalar` result with its `stats`.
    static func metric(_ result: MetricResult, stats: QueryStats) -> [UInt8] {
        var json = JSONWriter(capacity: 4096)
        switch result {
        case .scalar(let timestamp, let value):
            json.raw("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":")
            point(timestamp, value, into: &json)
        case .vector(let timestamp, let samples):
            json.raw("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[")
            for (index, sample) in samples.enumerated() {
                if index > 0 { json.raw(",") }
                json.raw("{\"metric\":")
                json.object(sample.labels.pairs)
                json.raw(",\"value\":")
                point(timestamp, sample.value, into: &json)
                json.raw("}")
            }
            json.raw("]")
        case .matrix(let series):
            json.raw("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[")
            for (index, one) in series.enumerated() {
                if index > 0 { json.raw(",") }
                json.raw("{\"metric\":")
                json.object(one.labels.pairs)
                json.raw(",\"values\":[")
                for (position, timestamp) in one.timestamps.enumerated() {
                    if position > 0 { json.raw(",") }
                    point(timestamp, one.values[position], into: &json)
                }
                json.raw("]}")
            }
            json.raw("]")
        }
        json.raw(",\"stats\":")
        statsObject(stats, into: &json)
        json.raw("}}")
        return json.bytes
    }

    /// `[<unix seconds, millisecond precision>, "<value>"]`, as Prometheus' `SamplePair` marshals: the time with
    /// the shortest digits, the value as Go's `FormatFloat(v, 'f', -1, 64)` (`NaN`, `+Inf`, `-Inf`).
    private static func point(_ timestamp: Int64, _ value: Double, into json: inout JSONWriter) {
        let milliseconds = timestamp >= 0 ? timestamp / 1_000_000 : (timestamp - 999_999) / 1_000_000
        json.raw("[")
        json.raw(GoFloatFormat.fixed(Double(milliseconds) / 1000))
        json.raw(",\"")
        json.raw(GoFloatFormat.fixed(value))
        json.raw("\"]")
    }
}
