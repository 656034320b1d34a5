import Wire

extension LokiSourceAPI {
    /// How received entries are labelled and timed; one snapshot of the arguments per request.
    struct EntryOptions: Sendable {
        /// `labels`, sorted by name.
        var fixedLabels: [LabelPair] = []
        var useIncomingTimestamp = false
        /// The request's `X-Scope-OrgID`, kept as the `__tenant_id__` label that `loki.write` sends as the tenant.
        var tenantID: String?
    }

    /// A push request turned into entries. Streams whose labels do not parse are left out and reported, as Alloy
    /// does: the other streams are still forwarded, and the client gets a 400 naming the problem.
    struct Conversion: Sendable {
        var batch = LogBatch()
        /// The last label problem seen (Alloy reports the last one), e.g. `1:7: parse error: ...`.
        var labelProblem: String?
        var rejectedStreams = 0
    }

    /// The label `loki.write` reads the tenant from (Alloy's `ReservedLabelTenantID`).
    static let tenantLabel = "__tenant_id__"

    /// Converts a decoded push request, following Alloy's `loki.source.api`: each stream's labels are parsed, the
    /// fixed `labels` replace pushed labels of the same name (an empty fixed value removes the label), a stream
    /// left with no labels at all is skipped, labels starting with `__` are dropped, and the tenant is added.
    ///
    /// Without `use_incoming_timestamp` every entry gets the receive time: `now` is read once and each entry is a
    /// nanosecond after the one before, so identical lines in one request stay distinct entries downstream.
    static func convert(_ request: PushRequest, options: EntryOptions, now: () -> Int64) -> Conversion {
        var result = Conversion()
        let receivedAt = options.useIncomingTimestamp ? 0 : now()
        var received: Int64 = 0
        result.batch.entries.reserveCapacity(request.streams.reduce(0) { $0 + $1.entries.count })
        for stream in request.streams {
            let pushed: [LabelPair]
            do throws(LabelParseError) {
                pushed = try LabelParser.parse(stream.labels)
            } catch {
                result.labelProblem = "\(error.description) (stream \(GoQuote.quote(stream.labels)))"
                result.rejectedStreams += 1
                continue
            }
            guard let labels = streamLabels(pushed, options: options) else { continue }
            for entry in stream.entries {
                let timestamp: Int64
                if options.useIncomingTimestamp {
                    timestamp = entry.timestamp
                } else {
                    timestamp = receivedAt &+ received
                    received += 1
                }
                result.batch.entries.append(LogEntry(
                    timestamp: timestamp, line: Array(entry.line), labels: labels,
                    structuredMetadata: entry.structuredMetadata))
            }
        }
        return result
    }

    /// The labels entries of a stream get, or nil when the stream is skipped (no labels at all).
    static func streamLabels(_ pushed: [LabelPair], options: EntryOptions) -> LabelSet? {
        // A later pair of the same name wins, as it does in Prometheus' label builder.
        var merged: [String: String] = [:]
        merged.reserveCapacity(pushed.count + options.fixedLabels.count + 1)
        for pair in pushed { merged[pair.name] = pair.value }
        for pair in options.fixedLabels { merged[pair.name] = pair.value.isEmpty ? nil : pair.value }
        if merged.isEmpty { return nil }
        var pairs: [LabelPair] = []
        pairs.reserveCapacity(merged.count + 1)
        for (name, value) in merged where !name.hasPrefix("__") && !value.isEmpty {
            pairs.append(LabelPair(name: name, value: value))
        }
        if let tenant = options.tenantID, !tenant.isEmpty {
            pairs.append(LabelPair(name: tenantLabel, value: tenant))
        }
        return LabelSet(pairs)
    }

    /// The entries of a `/loki/api/v1/raw` body: one per line (`\n`-separated, trailing `\r` and `\n` trimmed,
    /// empty lines skipped), each with the fixed labels and the receive time, as Promtail's and Alloy's raw
    /// endpoint do. Alloy does not keep the tenant here; the handler passes none.
    static func rawEntries(_ body: ArraySlice<UInt8>, options: EntryOptions, now: () -> Int64) -> LogBatch {
        var batch = LogBatch()
        guard !body.isEmpty else { return batch }
        let labels = streamLabels([], options: options) ?? LabelSet([])
        let receivedAt = now()
        var start = body.startIndex
        while start < body.endIndex {
            let newline = body[start...].firstIndex(of: UInt8(ascii: "\n")) ?? body.endIndex
            var end = newline
            while end > start, body[end - 1] == UInt8(ascii: "\r") || body[end - 1] == UInt8(ascii: "\n") { end -= 1 }
            if end > start {
                batch.entries.append(LogEntry(
                    timestamp: receivedAt &+ Int64(batch.entries.count), line: Array(body[start..<end]),
                    labels: labels))
            }
            start = newline < body.endIndex ? newline + 1 : body.endIndex
        }
        return batch
    }
}
