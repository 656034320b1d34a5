import Synchronization

/// A lock-protected value that tests can share between tasks and closures.
public final class LockedValue<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: Value) {
        mutex = Mutex(value)
    }

    public func get() -> Value {
        mutex.withLock { $0 }
    }

    public func update<R>(_ body: (inout Value) -> R) -> R {
        mutex.withLock { body(&$0) }
    }
}
