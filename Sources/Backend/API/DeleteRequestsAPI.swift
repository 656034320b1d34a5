import Logging

/// What the delete API (`/loki/api/v1/delete`) works with. Queries always hide the lines of a tenant's requests
/// (another process on the same store may have taken them); the endpoints are served only when `serveEndpoints`,
/// as Loki registers them only with `compactor.retention_enabled`.
public struct DeleteRequestsAPI: Sendable {
    public var store: DeleteRequestStore
    public var serveEndpoints: Bool
    /// `compactor.delete_request_cancel_period`.
    public var cancelPeriod: Duration
    /// `compactor.delete_max_interval`: the largest `max_interval` a request may name.
    public var maxInterval: Duration
    public var metrics: DeleteRequestMetrics
    public var logger: Logger

    public init(store: DeleteRequestStore, serveEndpoints: Bool = true, cancelPeriod: Duration, maxInterval: Duration,
                metrics: DeleteRequestMetrics, logger: Logger) {
        self.store = store
        self.serveEndpoints = serveEndpoints
        self.cancelPeriod = cancelPeriod
        self.maxInterval = maxInterval
        self.metrics = metrics
        self.logger = logger
    }
}
