/// The text of JSON numbers: validating one, and reading integers from one as protobuf's JSON mapping does.
public enum JSONNumberText {
    public enum Scan {
        /// A valid number of `length` bytes starts the text.
        case number(length: Int)
        /// The byte at `offset` (maybe the end) is not what the grammar expects there.
        case invalid(offset: Int, expected: StaticString)
    }

    /// Reads the number at the start of `text`: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`. What follows it
    /// is not looked at.
    @inlinable
    public static func scan(_ text: UnsafeBufferPointer<UInt8>) -> Scan {
        var index = 0
        let count = text.count
        func digits(_ index: inout Int) -> Int {
            let start = index
            while index < count && isDigit(text[index]) { index += 1 }
            return index - start
        }
        if index < count && text[index] == UInt8(ascii: "-") { index += 1 }
        if index < count && text[index] == UInt8(ascii: "0") {
            index += 1
        } else if digits(&index) == 0 {
            return .invalid(offset: index, expected: "a digit")
        }
        if index < count && text[index] == UInt8(ascii: ".") {
            index += 1
            guard digits(&index) > 0 else { return .invalid(offset: index, expected: "a digit after '.'") }
        }
        if index < count && (text[index] == UInt8(ascii: "e") || text[index] == UInt8(ascii: "E")) {
            index += 1
            if index < count && (text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-")) { index += 1 }
            guard digits(&index) > 0 else { return .invalid(offset: index, expected: "a digit in the exponent") }
        }
        return .number(length: index)
    }

    /// Whether all of `text` is one JSON number.
    public static func isNumber(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard case .number(let length) = scan(text) else { return false }
        return length == text.count
    }

    @inlinable @inline(__always)
    public static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    public static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// The exact integer a decimal text stands for, as protobuf's JSON mapping reads integers: an optional sign,
    /// digits, an optional fraction and exponent (`"1e3"` and `"10.0"` are 1000 and 10; `"1.5"` is no integer).
    /// Nil when it is not an integer or its magnitude does not fit in 64 bits.
    public static func integerValue(_ text: UnsafeBufferPointer<UInt8>) -> (negative: Bool, magnitude: UInt64)? {
        let count = text.count
        var index = 0
        var negative = false
        if index < count && (text[index] == UInt8(ascii: "-") || text[index] == UInt8(ascii: "+")) {
            negative = text[index] == UInt8(ascii: "-")
            index += 1
        }
        let integerStart = index
        while index < count && isDigit(text[index]) { index += 1 }
        let integerCount = index - integerStart
        // Fast path: plain digits, as senders write nearly all integers.
        if index == count && integerCount > 0 && integerCount < 20 {
            var value: UInt64 = 0
            for position in integerStart..<count { value = value &* 10 &+ UInt64(text[position] &- 0x30) }
            return (negative, value)
        }
        var fractionStart = index
        var fractionCount = 0
        if index < count && text[index] == UInt8(ascii: ".") {
            index += 1
            fractionStart = index
            while index < count && isDigit(text[index]) { index += 1 }
            fractionCount = index - fractionStart
            guard fractionCount > 0 else { return nil }
        }
        guard integerCount + fractionCount > 0 else { return nil }
        var exponent = 0
        if index < count && (text[index] == UInt8(ascii: "e") || text[index] == UInt8(ascii: "E")) {
            index += 1
            var exponentNegative = false
            if index < count && (text[index] == UInt8(ascii: "+") || text[index] == UInt8(ascii: "-")) {
                exponentNegative = text[index] == UInt8(ascii: "-")
                index += 1
            }
            let exponentStart = index
            while index < count && isDigit(text[index]) {
                if exponent < 100_000 { exponent = exponent * 10 + Int(text[index] - 0x30) }
                index += 1
            }
            guard index > exponentStart else { return nil }
            if exponentNegative { exponent = -exponent }
        }
        guard index == count else { return nil }

        // The digits, integer part then fraction, as one sequence; trailing zeros only scale.
        let total = integerCount + fractionCount
        func digit(_ k: Int) -> UInt64 {
            UInt64(text[k < integerCount ? integerStart + k : fractionStart + k - integerCount] - 0x30)
        }
        var last = total - 1
        while last >= 0 && digit(last) == 0 { last -= 1 }
        if last < 0 { return (negative, 0) }
        var scale = exponent - fractionCount + (total - 1 - last)
        guard scale >= 0 else { return nil }   // a nonzero fraction remains
        var magnitude: UInt64 = 0
        for k in 0...last {
            let (times10, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times10.addingReportingOverflow(digit(k))
            guard !overflow && !carry else { return nil }
            magnitude = sum
        }
        while scale > 0 {
            let (times10, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            magnitude = times10
            scale -= 1
        }
        return (negative, magnitude)
    }
}

extension UnsafeBufferPointer<UInt8> {
    /// Whether these bytes are `name`: how the parsers match an object key against the member names they know.
    @inline(__always)
    func isKey(_ name: StaticString) -> Bool {
        let length = name.utf8CodeUnitCount
        guard count == length else { return false }
        let bytes = name.utf8Start
        for index in 0..<length where self[index] != bytes[index] { return false }
        return true
    }
}
