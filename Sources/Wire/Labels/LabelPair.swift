/// One label: a name and its value, as Prometheus and Loki define them.
public struct LabelPair: Sendable, Hashable, Comparable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public static func < (lhs: LabelPair, rhs: LabelPair) -> Bool {
        lhs.name != rhs.name ? lhs.name < rhs.name : lhs.value < rhs.value
    }
}
