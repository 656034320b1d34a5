/// What a push could not store, collected while the rest of the request is stored, and turned into Loki's
/// 400/429 answer at the end.
public struct RejectedEntries: Sendable {
    /// One line per rejected entry or stream, as the client sees it (capped at `maxMessages`).
    public private(set) var messages: [String] = []
    public private(set) var entries = 0
    public private(set) var bytes = 0
    /// Whether any rejection was a rate or stream-count limit (answered 429 rather than 400).
    public private(set) var rateLimited = false
    public private(set) var byReason: [DiscardReason: (entries: Int, bytes: Int)] = [:]
    private var suppressed = 0
    static let maxMessages = 20

    public init() {}

    public var isEmpty: Bool { entries == 0 && messages.isEmpty }

    /// Records `entries` entries of `bytes` bytes dropped for `reason`, with the message the client gets.
    public mutating func add(_ reason: DiscardReason, entries: Int, bytes: Int, message: @autoclosure () -> String) {
        self.entries += entries
        self.bytes += bytes
        if reason.isRateLimit { rateLimited = true }
        let previous = byReason[reason] ?? (0, 0)
        byReason[reason] = (previous.entries + entries, previous.bytes + bytes)
        if messages.count < Self.maxMessages {
            messages.append(message())
        } else {
            suppressed += 1
        }
    }

    public mutating func merge(_ other: RejectedEntries) {
        entries += other.entries
        bytes += other.bytes
        rateLimited = rateLimited || other.rateLimited
        for (reason, counts) in other.byReason {
            let previous = byReason[reason] ?? (0, 0)
            byReason[reason] = (previous.entries + counts.entries, previous.bytes + counts.bytes)
        }
        for message in other.messages {
            if messages.count < Self.maxMessages { messages.append(message) } else { suppressed += 1 }
        }
        suppressed += other.suppressed
    }

    /// The response body: every message, then how many more were left out.
    public var summary: String {
        var text = messages.joined(separator: "\n")
        if suppressed > 0 { text += "\n(and \(suppressed) more)" }
        return text
    }
}
