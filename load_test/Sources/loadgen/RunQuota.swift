import Synchronization

/// When a load run ends.
enum RunStop: Sendable {
    /// Stop starting requests after this long.
    case after(Duration)
    /// Stop after this many requests in all (for `fill`).
    case requests(Int)
    /// Stop once exactly this many records were acknowledged (the last request may be smaller), or after the
    /// time limit if one is given and comes first.
    case records(Int, limit: Duration?)

    /// The time limit, if any.
    var limit: Duration? {
        switch self {
        case .after(let duration): duration
        case .requests: nil
        case .records(_, let limit): limit
        }
    }
}

/// Units (requests or records) a whole run may still start, shared by its workers.
final class RunBudget: Sendable {
    let total: Int
    private let claimed = Atomic<Int>(0)

    init(total: Int) {
        self.total = total
    }

    /// Claims up to `count` of the units left: how many it got, 0 when none are left.
    func claim(upTo count: Int) -> Int {
        var seen = claimed.load(ordering: .relaxed)
        while seen < total {
            let take = min(count, total - seen)
            let (exchanged, original) = claimed.compareExchange(
                expected: seen, desired: seen + take, ordering: .relaxed)
            if exchanged { return take }
            seen = original
        }
        return 0
    }
}

/// One worker's view of when a run stops: how many records its next request carries (0: stop).
///
/// - `.time`: full requests until the deadline.
/// - `.requests`: full requests while the shared count of requests lasts (`loadgen fill`); a request that fails
///   still counts, but a body stamped and never sent is given back.
/// - `.records`: exactly the shared number of records *acknowledged*: a request takes up to a full request's worth
///   from the budget (the last one of the run is smaller), and the records of a request that failed for good are
///   owed by this worker and go out again, before it claims more. With a deadline as well, the run stops there
///   even if records are still owed.
struct WorkerQuota {
    enum Mode: Sendable {
        case time
        case requests(RunBudget)
        case records(RunBudget)
    }

    let mode: Mode
    /// Records in a full request.
    let full: Int
    let deadline: ContinuousClock.Instant?
    /// Records (or, for `.requests`, a request's records) taken and not yet sent or acknowledged, to send again.
    private(set) var owed = 0

    init(mode: Mode, full: Int, deadline: ContinuousClock.Instant?) {
        self.mode = mode
        self.full = full
        self.deadline = deadline
    }

    /// The records the next request carries; 0 when this worker is done.
    mutating func next(now: ContinuousClock.Instant = .now) -> Int {
        if let deadline, now >= deadline { return 0 }
        switch mode {
        case .time:
            return full
        case .requests(let budget):
            if owed > 0 {
                owed = 0
                return full
            }
            return budget.claim(upTo: 1) == 1 ? full : 0
        case .records(let budget):
            if owed > 0 {
                let count = min(full, owed)
                owed -= count
                return count
            }
            return budget.claim(upTo: full)
        }
    }

    /// A request of `records` was stamped but never sent (its numbers were released).
    mutating func returnUnsent(_ records: Int) {
        switch mode {
        case .time: break
        case .requests: owed = full
        case .records: owed += records
        }
    }

    /// A request of `records` failed for good.
    mutating func returnFailed(_ records: Int) {
        if case .records = mode { owed += records }
    }
}
