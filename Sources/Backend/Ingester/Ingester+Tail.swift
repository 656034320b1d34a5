import Synchronization
import Wire

extension Ingester {
    /// A tail refused because the tenant holds `max_concurrent_tail_requests` already.
    public struct TailLimitReached: Error, CustomStringConvertible {
        public let held: Int
        public let limit: Int
        /// Loki's wording, as its querier reports it (an httpgrpc 400 error's text).
        public var description: String {
            "rpc error: code = Code(400) desc = max concurrent tail requests limit exceeded, count > limit (\(held + 1) > \(limit))"
        }
    }

    /// Opens a live tail for `tenant`: from now on what `filter` keeps of every entry pushed for the tenant is
    /// offered to the returned subscription. Refused when the tenant holds `limit` tails already (0: no limit). The
    /// caller must `unsubscribeTail` when the tail ends.
    public func subscribeTail(
        tenant: String, limit: Int, filter: any TailFilter
    ) throws(TailLimitReached) -> TailSubscription {
        let subscription = TailSubscription(tenant: tenant, filter: filter, dropped: tails.metrics.dropped)
        let (added, held) = tails.add(subscription, limit: limit)
        guard added else { throw TailLimitReached(held: held, limit: limit) }
        return subscription
    }

    public func unsubscribeTail(_ subscription: TailSubscription) {
        tails.remove(subscription)
    }

    /// Offers what a push appended to the tenant's tails. Runs after the shard locks are let go: the filters are
    /// query code.
    func feedTails(tenant: String, appended: [(labels: LabelSet, entries: [PushEntry])]) {
        let subscribers = tails.subscribers(tenant: tenant)
        guard !subscribers.isEmpty else { return }
        for subscriber in subscribers {
            for stream in appended where !stream.entries.isEmpty {
                subscriber.offer(labels: stream.labels, entries: stream.entries)
            }
        }
    }
}

/// The ingester's live tails, per tenant. Pushes look at `isEmpty` (one atomic load) and do nothing more when no
/// tail is open.
final class TailRegistry: Sendable {
    let metrics: TailMetrics
    private let count = Atomic<Int>(0)
    private let tenants = Mutex<[String: [TailSubscription]]>([:])

    init(metrics: TailMetrics) {
        self.metrics = metrics
    }

    var isEmpty: Bool { count.load(ordering: .relaxed) == 0 }

    /// Adds a tail unless the tenant already holds `limit` of them (0: no limit); returns how many it held.
    func add(_ subscription: TailSubscription, limit: Int) -> (added: Bool, held: Int) {
        tenants.withLock { tenants in
            let held = tenants[subscription.tenant]?.count ?? 0
            guard limit <= 0 || held < limit else { return (false, held) }
            tenants[subscription.tenant, default: []].append(subscription)
            count.wrappingAdd(1, ordering: .relaxed)
            metrics.active.increment()
            return (true, held)
        }
    }

    func remove(_ subscription: TailSubscription) {
        let removed = tenants.withLock { tenants -> Bool in
            guard var list = tenants[subscription.tenant],
                  let index = list.firstIndex(where: { $0 === subscription }) else { return false }
            list.remove(at: index)
            tenants[subscription.tenant] = list.isEmpty ? nil : list
            count.wrappingSubtract(1, ordering: .relaxed)
            metrics.active.decrement()
            return true
        }
        if removed { subscription.finish() }
    }

    func subscribers(tenant: String) -> [TailSubscription] {
        tenants.withLock { $0[tenant] ?? [] }
    }
}
