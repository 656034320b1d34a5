import DequeModule
import Synchronization

/// Hands out a fixed number of query slots (`querier.max_concurrent`) fairly among tenants: when a slot frees, the
/// next tenant in round-robin order with waiting work gets it, so a tenant with a thousand pieces queued delays
/// another tenant's query by at most one piece per slot. A tenant may have at most `maxOutstandingPerTenant`
/// pieces waiting; past that its new work is refused (429), never another tenant's.
///
/// Called by every query piece, from any task; cancellation of a waiting piece removes it from its queue.
public final class FairScheduler: Sendable {
    public struct TooManyOutstanding: Error, Sendable, Equatable {
        public let tenant: String
        public let limit: Int
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var running = 0
        var queues: [String: Deque<Waiter>] = [:]
        /// Tenants with waiting work, in the order they get the next free slot.
        var rotation: Deque<String> = []
        var nextID: UInt64 = 0
    }

    public let slots: Int
    public let maxOutstandingPerTenant: Int
    private let state = Mutex(State())

    public init(slots: Int, maxOutstandingPerTenant: Int) {
        self.slots = max(1, slots)
        self.maxOutstandingPerTenant = max(1, maxOutstandingPerTenant)
    }

    /// Runs `work` in a slot, after the tenant's earlier pieces and fairly with other tenants' pieces.
    public func run<T: Sendable>(tenant: String, _ work: () async throws -> T) async throws -> T {
        try await acquire(tenant: tenant)
        defer { release() }
        return try await work()
    }

    /// Pieces waiting for a slot, per tenant (for tests and metrics).
    public func waiting(tenant: String) -> Int {
        state.withLock { $0.queues[tenant]?.count ?? 0 }
    }

    private func acquire(tenant: String) async throws {
        let id: UInt64 = try state.withLock { state in
            state.nextID += 1
            let waiting = state.queues[tenant]?.count ?? 0
            if waiting >= maxOutstandingPerTenant {
                throw TooManyOutstanding(tenant: tenant, limit: maxOutstandingPerTenant)
            }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resume: Bool = state.withLock { state in
                    if Task.isCancelled {
                        return false
                    }
                    if state.running < slots && (state.queues[tenant]?.isEmpty ?? true) && state.rotation.isEmpty {
                        state.running += 1
                        return true
                    }
                    if state.queues[tenant] == nil || state.queues[tenant]?.isEmpty == true {
                        state.rotation.append(tenant)
                    }
                    state.queues[tenant, default: []].append(Waiter(id: id, continuation: continuation))
                    return false
                }
                if resume {
                    continuation.resume()
                } else if Task.isCancelled && !isQueued(id: id, tenant: tenant) {
                    continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            let removed: Waiter? = state.withLock { state in
                guard var queue = state.queues[tenant], let index = queue.firstIndex(where: { $0.id == id }) else {
                    return nil
                }
                let waiter = queue.remove(at: index)
                state.queues[tenant] = queue.isEmpty ? nil : queue
                if queue.isEmpty { state.rotation.removeAll { $0 == tenant } }
                return waiter
            }
            removed?.continuation.resume(throwing: CancellationError())
        }
    }

    private func isQueued(id: UInt64, tenant: String) -> Bool {
        state.withLock { $0.queues[tenant]?.contains { $0.id == id } ?? false }
    }

    private func release() {
        let next: Waiter? = state.withLock { state in
            while let tenant = state.rotation.popFirst() {
                guard var queue = state.queues[tenant], let waiter = queue.popFirst() else { continue }
                if queue.isEmpty {
                    state.queues[tenant] = nil
                } else {
                    state.queues[tenant] = queue
                    state.rotation.append(tenant)
                }
                return waiter
            }
            state.running -= 1
            return nil
        }
        next?.continuation.resume()
    }
}
