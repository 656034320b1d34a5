/// Why an entry was not stored: the `reason` label of `loki_discarded_samples_total`, with Loki's values.
public enum DiscardReason: String, Sendable, CaseIterable {
    case invalidLabels = "invalid_labels"
    case missingLabels = "missing_labels"
    case rateLimited = "rate_limited"
    case lineTooLong = "line_too_long"
    case streamLimit = "stream_limit"
    case perStreamRateLimit = "per_stream_rate_limit"
    case tooFarBehind = "too_far_behind"
    case greaterThanMaxSampleAge = "greater_than_max_sample_age"
    case tooFarInFuture = "too_far_in_future"
    case maxLabelNamesPerSeries = "max_label_names_per_series"
    case labelNameTooLong = "label_name_too_long"
    case labelValueTooLong = "label_value_too_long"
    case duplicateLabelNames = "duplicate_label_names"
    case disallowedStructuredMetadata = "disallowed_structured_metadata"
    case requestBodyTooLarge = "request_body_too_large"
    case invalidRequest = "invalid_request"

    /// Rate and stream-count limits answer 429 (the client should retry later); everything else 400.
    public var isRateLimit: Bool {
        switch self {
        case .rateLimited, .streamLimit, .perStreamRateLimit: true
        default: false
        }
    }
}
