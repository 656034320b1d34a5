/// Writes JSON straight into bytes, without intermediate objects or `Codable`: Loki's API responses and the
/// agent's API are built with it. The caller writes the structure with `raw`; strings go through `JSONString`.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []

    public init(capacity: Int = 1024) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func raw(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    public mutating func raw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    public mutating func number(_ value: Int) {
        decimal(Int64(value))
    }

    public mutating func decimal(_ value: Int64) {
        if value < 0 { raw("-") }
        unsignedDecimal(value.magnitude)
    }

    /// The digits of `value`, without allocating.
    public mutating func unsignedDecimal(_ value: UInt64) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)   // 24 bytes: room for UInt64.max's 20 digits
        withUnsafeMutableBytes(of: &digits) { buffer in
            var magnitude = value
            var index = buffer.count
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            bytes.append(contentsOf: buffer[index...])
        }
    }

    /// A finite number as Swift prints it; NaN and infinities, which JSON cannot hold, as 0.
    public mutating func number(_ value: Double) {
        if value.isFinite {
            bytes.append(contentsOf: String(value).utf8)
        } else {
            raw("0")
        }
    }

    public mutating func bool(_ value: Bool) {
        raw(value ? "true" : "false")
    }

    public mutating func string(_ value: String, options: JSONString.Options = []) {
        JSONString.append(value, to: &bytes, options: options)
    }

    /// A string from UTF-8 bytes; invalid UTF-8 becomes U+FFFD.
    public mutating func string(_ value: UnsafeBufferPointer<UInt8>, options: JSONString.Options = []) {
        JSONString.append(value, to: &bytes, options: options)
    }

    public mutating func string(_ value: [UInt8]) {
        value.withUnsafeBufferPointer { string($0) }
    }

    /// `bytes` as a string of lowercase hex digits.
    public mutating func hexString(_ value: [UInt8]) {
        let digits: StaticString = "0123456789abcdef"
        raw("\"")
        for byte in value {
            bytes.append(digits.utf8Start[Int(byte >> 4)])
            bytes.append(digits.utf8Start[Int(byte & 0xF)])
        }
        raw("\"")
    }

    /// `bytes` as a string in padded standard base64, as Go's `encoding/json` writes `[]byte`.
    public mutating func base64String(_ value: [UInt8]) {
        raw("\"")
        Base64Codec.encode(value, to: &bytes)
        raw("\"")
    }

    /// `{"name":"value", ...}`: labels or structured metadata as Loki writes them, in the order given.
    public mutating func object(_ pairs: some Sequence<LabelPair>) {
        raw("{")
        for (index, pair) in pairs.enumerated() {
            if index > 0 { raw(",") }
            string(pair.name)
            raw(":")
            string(pair.value)
        }
        raw("}")
    }

    /// `[item, ...]`, each item written by `element`.
    public mutating func array<Item>(_ items: some Sequence<Item>, _ element: (inout JSONWriter, Item) -> Void) {
        raw("[")
        for (index, item) in items.enumerated() {
            if index > 0 { raw(",") }
            element(&self, item)
        }
        raw("]")
    }
}
