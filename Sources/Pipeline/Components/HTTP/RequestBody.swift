import Hummingbird
import NIOCore

/// Reading a request body for the agent's HTTP listeners (`otelcol.receiver.otlp`, `loki.source.api`): at most
/// `limit` bytes, refused before reading when `Content-Length` already says more, and within the listener's
/// ``RequestBodyBudget`` for all bodies held at once.
enum RequestBody {
    /// Why a body was refused, the `reason` label of the listener's refusal metric.
    enum RefusalReason: String, Sendable {
        /// Larger than the per-request limit (413).
        case tooLarge = "too_large"
        /// The listener already holds as many body bytes as it may (503 with `Retry-After`).
        case inFlightLimit = "in_flight_limit"
    }

    /// The body is larger than the listener's limit; `message` names the limit's argument (`attribute`).
    struct TooLarge: Error {
        let message: String
    }

    /// The listener holds too many body bytes right now; the client should retry after `retryAfterSeconds`.
    struct Overloaded: Error {
        let message: String
        let retryAfterSeconds: Int
    }

    /// A body read within a budget. Its bytes stay reserved until `release()`, which the handler calls once the
    /// request is answered (the body, and what is decoded from it, are in memory until then).
    struct Held: Sendable {
        let bytes: [UInt8]
        let reserved: Int
        let budget: RequestBodyBudget

        func release() { budget.release(reserved) }
    }

    /// How long a refused client is asked to wait: requests in flight usually finish within a second.
    static let retryAfterSeconds = 1

    /// Reads the body, reserving its bytes in `budget` as they arrive. Throws ``TooLarge`` past `limit` and
    /// ``Overloaded`` when the budget is spent; either way nothing stays reserved, and the refusal is counted.
    static func read(
        _ request: Request, limit: Int, attribute: String, budget: RequestBodyBudget, budgetAttribute: String
    ) async throws -> Held {
        var reserved = 0
        func overloaded() -> Overloaded {
            Overloaded(
                message: "the listener already holds \(budget.inUse) bytes of request bodies, the most \(budgetAttribute) (\(budget.limit) bytes) allows; retry later",
                retryAfterSeconds: retryAfterSeconds)
        }
        do {
            if let declared = request.headers[.contentLength].flatMap(Int.init) {
                if declared > limit {
                    throw TooLarge(message: "request body of \(declared) bytes is larger than \(attribute) (\(limit) bytes)")
                }
                // All of it up front: a body that cannot fit is refused before any of it is read.
                guard budget.reserve(declared) else { throw overloaded() }
                reserved = declared
            }
            var buffer = ByteBuffer()
            for try await chunk in request.body {
                let total = buffer.readableBytes + chunk.readableBytes
                if total > limit {
                    throw TooLarge(message: "request body is larger than \(attribute) (\(limit) bytes)")
                }
                if total > reserved {
                    guard budget.reserve(total - reserved) else { throw overloaded() }
                    reserved = total
                }
                var chunk = chunk
                buffer.writeBuffer(&chunk)
            }
            return Held(bytes: Array(buffer.readableBytesView), reserved: reserved, budget: budget)
        } catch let error as TooLarge {
            budget.release(reserved)
            budget.countRefusal(.tooLarge)
            throw error
        } catch let error as Overloaded {
            budget.release(reserved)
            budget.countRefusal(.inFlightLimit)
            throw error
        } catch {
            budget.release(reserved)
            throw error
        }
    }

    /// The default total for a listener whose bodies may each be `perRequest` bytes: room for four such
    /// bodies, at most 256MiB, and never less than one body.
    static func defaultInFlightLimit(perRequest: Int) -> Int {
        let four = perRequest.multipliedReportingOverflow(by: 4)
        let wanted = four.overflow ? Int.max : four.partialValue
        return max(perRequest, min(wanted, 256 << 20))
    }
}
