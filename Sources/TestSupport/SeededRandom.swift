import Wire

/// The tests' seeded generator: Wire's ``SplitMix64``, so every property and fuzz case can be reproduced from its
/// seed, with the helpers the tests use.
public typealias SeededRandom = SplitMix64

extension SplitMix64 {
    public mutating func int(_ range: ClosedRange<Int>) -> Int {
        Int.random(in: range, using: &self)
    }

    /// True `percent` times in a hundred.
    public mutating func chance(_ percent: Int) -> Bool {
        int(0...99) < percent
    }

    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }
}
