import Wire

extension LokiJSON {
    /// `/loki/api/v1/index/stats`: Loki's `IndexStatsResponse`.
    static func indexStats(_ stats: IndexStats) -> [UInt8] {
        var json = JSONWriter()
        json.raw("{\"streams\":")
        json.number(stats.streams)
        json.raw(",\"chunks\":")
        json.number(stats.chunks)
        json.raw(",\"bytes\":")
        json.number(stats.bytes)
        json.raw(",\"entries\":")
        json.number(stats.entries)
        json.raw("}")
        return json.bytes
    }

    /// A volume answer in Loki's Prometheus shape: a vector (`"value":[t,"bytes"]`) when every group has one
    /// sample, else a matrix (`"values":[[t,"bytes"]…]`), with an empty `stats` object. Times are seconds with
    /// millisecond decimals, as Prometheus writes them.
    static func volume(_ series: [(labels: [LabelPair], samples: [(milliseconds: Int64, bytes: Int)])]) -> [UInt8] {
        let matrix = series.contains { $0.samples.count > 1 }
        var json = JSONWriter(capacity: 512 + series.count * 96)
        json.raw("{\"status\":\"success\",\"data\":{\"resultType\":")
        json.raw(matrix ? "\"matrix\"" : "\"vector\"")
        json.raw(",\"result\":[")
        for (index, item) in series.enumerated() {
            if index > 0 { json.raw(",") }
            json.raw("{\"metric\":")
            json.object(item.labels)
            json.raw(matrix ? ",\"values\":[" : ",\"value\":")
            for (i, sample) in item.samples.enumerated() {
                if i > 0 { json.raw(",") }
                json.raw("[")
                json.raw(prometheusSeconds(sample.milliseconds))
                json.raw(",\"")
                json.raw(String(sample.bytes))
                json.raw("\"]")
            }
            json.raw(matrix ? "]}" : "}")
        }
        json.raw("],\"stats\":")
        statsObject(QueryStats(), into: &json)
        json.raw("}}")
        return json.bytes
    }

    /// Prometheus' `model.Time` text: seconds, with up to three decimals and no trailing zeros.
    static func prometheusSeconds(_ milliseconds: Int64) -> String {
        let negative = milliseconds < 0
        let magnitude = milliseconds.magnitude
        let seconds = magnitude / 1000
        var text = (negative ? "-" : "") + String(seconds)
        var fraction = magnitude % 1000
        guard fraction > 0 else { return text }
        var digits = 3
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        let padded = String(fraction)
        text += "." + String(repeating: "0", count: digits - padded.count) + padded
        return text
    }

    /// `/loki/api/v1/detected_labels`: Loki 3's `DetectedLabelsResponse` without the sketches.
    static func detectedLabels(_ labels: [(label: String, cardinality: Int)]) -> [UInt8] {
        var json = JSONWriter()
        json.raw("{\"detectedLabels\":[")
        for (index, item) in labels.enumerated() {
            if index > 0 { json.raw(",") }
            json.raw("{\"label\":")
            json.string(item.label)
            json.raw(",\"cardinality\":")
            json.number(item.cardinality)
            json.raw("}")
        }
        json.raw("]}")
        return json.bytes
    }
}
