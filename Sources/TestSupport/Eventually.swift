import AsyncHTTPClient
import NIOCore

/// Waits until `condition` holds, polling every 5 ms, for at most `timeout`; whether it came to hold.
///
/// The bound is generous on purpose: Swift Testing runs every test at once on the two cooperative threads of a
/// two-core CI machine, so a listener's start can queue behind a whole suite's worth of CPU-bound property tests.
/// A condition that holds returns at once; only a test that is failing waits the full bound.
public func eventually(within timeout: Duration = .seconds(120), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))  // not-a-wait: poll interval of a deadline-bounded condition wait
    }
    return condition()
}

/// `eventually` for a condition that must be awaited (a metric read over HTTP, a peer's counters).
public func eventually(within timeout: Duration = .seconds(120), _ condition: () async throws -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: .milliseconds(5))  // not-a-wait: poll interval of a deadline-bounded condition wait
    }
    return (try? await condition()) == true
}

/// Whether a listener stopped accepting: a fresh request to `url` fails to connect (or is cut off) within 50
/// attempts of at most 200 ms each. Any answer, whatever its status, means it still accepts.
public func refusesConnections(_ url: String) async -> Bool {
    for _ in 0..<50 {
        do {
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(200))
            for try await _ in response.body {}
        } catch {
            return true
        }
    }
    return false
}
