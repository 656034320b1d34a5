import Logging

/// What the delete API (`/loki/api/v1/delete`) works with; the API serves it only when this is set, as Loki
/// registers the endpoints only with `compactor.retention_enabled`.
public struct DeleteRequestsAPI: Sendable {
    public var store: DeleteRequestStore
    /// `compactor.delete_request_cancel_period`.
    public var cancelPeriod: Duration
    /// `compactor.delete_max_interval`: the largest `max_interval` a request may name.
    public var maxInterval: Duration
    public var metrics: DeleteRequestMetrics
    public var logger: Logger

    public init(store: DeleteRequestStore, cancelPeriod: Duration, maxInterval: Duration,
                metrics: DeleteRequestMetrics, logger: Logger) {
        self.store = store
        self.cancelPeriod = cancelPeriod
        self.maxInterval = maxInterval
        self.metrics = metrics
        self.logger = logger
    }
}
