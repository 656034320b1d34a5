/// An operator applied to a value of the wrong type, or arithmetic that cannot be done. `side` says which
/// operand the evaluator should point at.
struct OperatorError: Error {
    enum Side { case left, right, whole }
    var side: Side
    var message: String
}

/// Alloy's operators on values.
///
/// `==` and `!=` take any two values. `||` and `&&` take bools (both sides are evaluated, as in Alloy). `+` takes
/// two numbers, two strings (concatenation) or a secret with a string or secret (the result stays a secret).
/// `- * / % ^` take numbers; `< <= > >=` take two numbers or two strings (compared byte-wise). Integers stay
/// exact: an integer result that does not fit in 64 bits is an error rather than a silent wrap.
enum ValueOperators {
    static func unary(_ op: UnaryOperator, _ operand: Value) throws(OperatorError) -> Value {
        switch op {
        case .not:
            guard case .bool(let flag) = operand else {
                throw OperatorError(side: .right, message: "expected bool, got \(operand.summary): operator ! needs a bool")
            }
            return .bool(!flag)
        case .negate:
            guard case .number(let number) = operand else {
                throw OperatorError(side: .right, message: "expected number, got \(operand.summary): unary - needs a number")
            }
            switch number {
            case .float(let value): return .number(.float(-value))
            case .int, .uint:
                return try .number(integerResult(-wide(number), description: "-\(number)"))
            }
        }
    }

    static func binary(_ op: BinaryOperator, _ lhs: Value, _ rhs: Value) throws(OperatorError) -> Value {
        switch op {
        case .equal: return .bool(equal(lhs, rhs))
        case .notEqual: return .bool(!equal(lhs, rhs))
        case .or, .and:
            guard case .bool(let a) = lhs else {
                throw OperatorError(side: .left, message: "expected bool, got \(lhs.summary): operator \(op.rawValue) needs bools")
            }
            guard case .bool(let b) = rhs else {
                throw OperatorError(side: .right, message: "expected bool, got \(rhs.summary): operator \(op.rawValue) needs bools")
            }
            return .bool(op == .or ? (a || b) : (a && b))
        case .add:
            return try add(lhs, rhs)
        case .subtract, .multiply, .divide, .modulo, .power:
            let (a, b) = try numbers(op, lhs, rhs)
            return .number(try arithmetic(op, a, b))
        case .less, .lessEqual, .greater, .greaterEqual:
            return .bool(try compare(op, lhs, rhs))
        }
    }

    // MARK: Equality

    /// Alloy's `==`, where a string compared with a secret is compared as a secret.
    static func equal(_ lhs: Value, _ rhs: Value) -> Bool {
        switch (lhs, rhs) {
        case (.secret(let a), .string(let b)), (.string(let b), .secret(let a)): a == b
        default: lhs == rhs
        }
    }

    // MARK: Addition

    private static func add(_ lhs: Value, _ rhs: Value) throws(OperatorError) -> Value {
        switch (lhs, rhs) {
        case (.number(let a), .number(let b)): return .number(try arithmetic(.add, a, b))
        case (.string(let a), .string(let b)): return .string(a + b)
        case (.secret(let a), .secret(let b)), (.secret(let a), .string(let b)), (.string(let a), .secret(let b)):
            return .secret(a + b)
        default:
            let allowed = "number, string or secret"
            guard isAddable(lhs) else {
                throw OperatorError(side: .left, message: "expected \(allowed), got \(lhs.summary): + adds numbers and joins strings")
            }
            guard isAddable(rhs) else {
                throw OperatorError(side: .right, message: "expected \(allowed), got \(rhs.summary): + adds numbers and joins strings")
            }
            let expected = lhs.typeName == "secret" ? "string or secret" : lhs.typeName
            throw OperatorError(
                side: .right,
                message: "expected \(expected), got \(rhs.summary): cannot add a \(rhs.typeName) to a \(lhs.typeName)")
        }
    }

    private static func isAddable(_ value: Value) -> Bool {
        switch value {
        case .number, .string, .secret: true
        default: false
        }
    }

    // MARK: Arithmetic

    private static func numbers(_ op: BinaryOperator, _ lhs: Value, _ rhs: Value) throws(OperatorError) -> (Number, Number) {
        guard case .number(let a) = lhs else {
            throw OperatorError(side: .left, message: "expected number, got \(lhs.summary): operator \(op.rawValue) needs numbers")
        }
        guard case .number(let b) = rhs else {
            throw OperatorError(side: .right, message: "expected number, got \(rhs.summary): operator \(op.rawValue) needs numbers")
        }
        return (a, b)
    }

    static func arithmetic(_ op: BinaryOperator, _ a: Number, _ b: Number) throws(OperatorError) -> Number {
        if op == .divide || op == .modulo {
            let zero: Bool =
                switch b {
                case .int(let value): value == 0
                case .uint(let value): value == 0
                case .float(let value): value == 0
                }
            if zero {
                throw OperatorError(side: .right, message: "division by zero: \(a) \(op.rawValue) \(b)")
            }
        }
        guard a.isInteger && b.isInteger else {
            let x = a.doubleValue
            let y = b.doubleValue
            switch op {
            case .add: return .float(x + y)
            case .subtract: return .float(x - y)
            case .multiply: return .float(x * y)
            case .divide: return .float(x / y)
            case .modulo: return .float(x.truncatingRemainder(dividingBy: y))
            default: return .float(pow(x, y))
            }
        }
        let x = wide(a)
        let y = wide(b)
        let text = "\(a) \(op.rawValue) \(b)"
        switch op {
        case .add: return try integerResult(x + y, description: text)
        case .subtract: return try integerResult(x - y, description: text)
        case .multiply:
            let (product, overflow) = x.multipliedReportingOverflow(by: y)
            guard !overflow else {
                throw OperatorError(side: .whole, message: "integer overflow: \(text) does not fit in 64 bits")
            }
            return try integerResult(product, description: text)
        case .divide: return try integerResult(x / y, description: text)
        case .modulo: return try integerResult(x % y, description: text)
        default:
            if y < 0 {
                return .float(pow(a.doubleValue, b.doubleValue))
            }
            return try integerResult(try integerPower(x, y, description: text), description: text)
        }
    }

    /// Both operands are 64-bit, so sums, differences, products and quotients always fit in 128 bits.
    private static func wide(_ number: Number) -> Int128 {
        switch number {
        case .int(let value): Int128(value)
        case .uint(let value): Int128(value)
        case .float(let value): Int128(value)
        }
    }

    private static func integerResult(_ value: Int128, description: String) throws(OperatorError) -> Number {
        if let small = Int64(exactly: value) {
            return .int(small)
        }
        if let large = UInt64(exactly: value) {
            return .uint(large)
        }
        throw OperatorError(side: .whole, message: "integer overflow: \(description) does not fit in 64 bits")
    }

    /// Exponentiation by squaring; fails as soon as an intermediate result leaves the 64-bit range.
    private static func integerPower(_ base: Int128, _ exponent: Int128, description: String) throws(OperatorError) -> Int128 {
        var result: Int128 = 1
        var base = base
        var exponent = exponent
        let limit = Int128(UInt64.max)
        while exponent > 0 {
            if exponent & 1 == 1 {
                let (product, overflow) = result.multipliedReportingOverflow(by: base)
                result = product
                guard !overflow, result <= limit, result >= Int128(Int64.min) else {
                    throw OperatorError(side: .whole, message: "integer overflow: \(description) does not fit in 64 bits")
                }
            }
            exponent >>= 1
            if exponent > 0 {
                let (square, overflow) = base.multipliedReportingOverflow(by: base)
                base = square
                guard !overflow, base <= limit else {
                    throw OperatorError(side: .whole, message: "integer overflow: \(description) does not fit in 64 bits")
                }
            }
        }
        return result
    }

    private static func pow(_ x: Double, _ y: Double) -> Double {
        CLibrary.pow(x, y)
    }

    // MARK: Comparison

    private static func compare(_ op: BinaryOperator, _ lhs: Value, _ rhs: Value) throws(OperatorError) -> Bool {
        let order: Int
        switch (lhs, rhs) {
        case (.number(let a), .number(let b)):
            if a.isInteger && b.isInteger {
                let x = wide(a)
                let y = wide(b)
                order = x < y ? -1 : (x == y ? 0 : 1)
            } else {
                let x = a.doubleValue
                let y = b.doubleValue
                if x.isNaN || y.isNaN { return false }
                order = x < y ? -1 : (x == y ? 0 : 1)
            }
        case (.string(let a), .string(let b)):
            order = a.utf8.lexicographicallyPrecedes(b.utf8) ? -1 : (a.utf8.elementsEqual(b.utf8) ? 0 : 1)
        default:
            switch lhs {
            case .number, .string:
                throw OperatorError(
                    side: .right,
                    message: "expected \(lhs.typeName), got \(rhs.summary): cannot compare a \(rhs.typeName) with a \(lhs.typeName)")
            default:
                throw OperatorError(
                    side: .left,
                    message: "expected number or string, got \(lhs.summary): operator \(op.rawValue) compares numbers or strings")
            }
        }
        switch op {
        case .less: return order < 0
        case .lessEqual: return order <= 0
        case .greater: return order > 0
        default: return order >= 0
        }
    }
}
