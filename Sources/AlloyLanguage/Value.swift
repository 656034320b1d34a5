/// A value of the Alloy syntax: what an expression evaluates to and what components export.
public enum Value: Sendable {
    case null
    case bool(Bool)
    case number(Number)
    case string(String)
    case array([Value])
    case object(ValueObject)
    case function(AlloyFunction)
    /// An opaque host value, such as a component's `receiver`.
    case capsule(Capsule)
    /// A sensitive string: never printed, only usable where a secret is accepted.
    case secret(String)

    /// Alloy's name for the type of the value.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "bool"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        case .function: "function"
        case .capsule: "capsule"
        case .secret: "secret"
        }
    }

    /// Convenience for integers.
    public static func int(_ value: Int) -> Value { .number(.int(Int64(value))) }

    /// Convenience for floats.
    public static func float(_ value: Double) -> Value { .number(.float(value)) }

    /// The string, when the value is a string.
    public var stringValue: String? {
        if case .string(let text) = self { text } else { nil }
    }

    /// The boolean, when the value is a bool.
    public var boolValue: Bool? {
        if case .bool(let flag) = self { flag } else { nil }
    }

    /// The number, when the value is a number.
    public var numberValue: Number? {
        if case .number(let number) = self { number } else { nil }
    }

    /// The elements, when the value is an array.
    public var arrayValue: [Value]? {
        if case .array(let elements) = self { elements } else { nil }
    }

    /// The object, when the value is one.
    public var objectValue: ValueObject? {
        if case .object(let object) = self { object } else { nil }
    }
}

extension Value: Equatable {
    /// Alloy's `==`: values of different types are never equal, numbers compare by value whatever their kind
    /// (`3 == 3.0`), arrays element-wise, objects key-wise regardless of order, functions by name, capsules by
    /// identity and secrets by content.
    public static func == (lhs: Value, rhs: Value) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.number(let a), .number(let b)): a.isEqual(to: b)
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a == b
        case (.function(let a), .function(let b)): a.name == b.name
        case (.capsule(let a), .capsule(let b)): a.holdsSameObject(as: b)
        case (.secret(let a), .secret(let b)): a == b
        default: false
        }
    }
}

/// A number, keeping integers exact: literals without a fraction or exponent are integers; arithmetic on two
/// integers stays integral; any float makes the result a float.
public enum Number: Sendable, Hashable, CustomStringConvertible {
    case int(Int64)
    /// An integer above `Int64.max`.
    case uint(UInt64)
    case float(Double)

    public var isInteger: Bool {
        if case .float = self { false } else { true }
    }

    /// The value as a double (large integers lose precision).
    public var doubleValue: Double {
        switch self {
        case .int(let value): Double(value)
        case .uint(let value): Double(value)
        case .float(let value): value
        }
    }

    /// The value as an `Int64` when it is integral and fits.
    public var int64Value: Int64? {
        switch self {
        case .int(let value): value
        case .uint(let value): Int64(exactly: value)
        case .float(let value): value.isFinite && value.rounded() == value ? Int64(exactly: value) : nil
        }
    }

    /// Numeric equality across kinds: `3 == 3.0`.
    public func isEqual(to other: Number) -> Bool {
        switch (self, other) {
        case (.int(let a), .int(let b)): a == b
        case (.uint(let a), .uint(let b)): a == b
        case (.int(let a), .uint(let b)), (.uint(let b), .int(let a)): a >= 0 && UInt64(a) == b
        default: doubleValue == other.doubleValue
        }
    }

    public var description: String {
        switch self {
        case .int(let value): String(value)
        case .uint(let value): String(value)
        case .float(let value): Self.format(value)
        }
    }

    /// Shortest text that reads back as the same double, always with a `.` or exponent so it stays a float.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        return value.description
    }
}

/// An object: string keys in insertion order, each with a value.
public struct ValueObject: Sendable, Equatable, CustomStringConvertible, ExpressibleByDictionaryLiteral {
    public private(set) var keys: [String]
    private var storage: [String: Value]

    public init() {
        keys = []
        storage = [:]
    }

    /// An object from key/value pairs; a repeated key keeps its first position and its last value.
    public init(_ pairs: [(String, Value)]) {
        self.init()
        for (key, value) in pairs {
            self[key] = value
        }
    }

    /// `["a": 1, "b": 2]` keeps the written order.
    public init(dictionaryLiteral elements: (String, Value)...) {
        self.init(elements)
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    public subscript(key: String) -> Value? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil {
                    keys.append(key)
                }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    /// The entries in insertion order.
    public var pairs: [(key: String, value: Value)] {
        keys.compactMap { key in storage[key].map { (key, $0) } }
    }

    /// Two objects are equal when they hold the same keys with equal values, in any order.
    public static func == (lhs: ValueObject, rhs: ValueObject) -> Bool {
        guard lhs.keys.count == rhs.keys.count else { return false }
        for (key, value) in lhs.storage {
            guard let other = rhs.storage[key], other == value else { return false }
        }
        return true
    }

    public var description: String { Value.object(self).description }
}

/// A function value, such as `string.format`.
public struct AlloyFunction: Sendable {
    /// The name it is known by, for messages: `"string.format"`.
    public let name: String
    public let call: @Sendable ([Value]) throws(EvaluationError) -> Value

    public init(name: String, call: @escaping @Sendable ([Value]) throws(EvaluationError) -> Value) {
        self.name = name
        self.call = call
    }
}

/// A kind of host value that components export and take, such as a logs receiver: its Swift type and Alloy's name
/// for it. An export and the argument that takes it name the same kind, so they agree by construction, and a
/// capsule of another kind is refused at load with both names.
public protocol CapsuleKind {
    /// What the capsule holds: a class instance or a class-bound existential (capsules compare by identity).
    associatedtype Payload: Sendable
    /// Alloy's name for the type, in messages and the UI: `"loki.LogsReceiver"`.
    static var typeName: String { get }
}

/// A host value carried through the config unchanged, such as a component's logs receiver.
public struct Capsule: Sendable {
    /// The kind's `typeName`.
    public let typeName: String
    private let payload: any Sendable

    public init<Kind: CapsuleKind>(_ kind: Kind.Type, _ payload: Kind.Payload) {
        typeName = Kind.typeName
        self.payload = payload
    }

    /// What the capsule holds, when it is of `kind`.
    public func payload<Kind: CapsuleKind>(_ kind: Kind.Type) -> Kind.Payload? {
        typeName == Kind.typeName ? payload as? Kind.Payload : nil
    }

    /// Whether both hold the same object.
    public func holdsSameObject(as other: Capsule) -> Bool {
        (payload as AnyObject) === (other.payload as AnyObject)
    }
}

extension Value {
    /// A capsule of `kind` holding `payload`.
    public static func capsule<Kind: CapsuleKind>(_ kind: Kind.Type, _ payload: Kind.Payload) -> Value {
        .capsule(Capsule(kind, payload))
    }
}

/// A failure inside a function or operator. The evaluator positions it in a `Diagnostic`: on the argument at
/// `argumentIndex` when set, otherwise on the whole call.
public struct EvaluationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var argumentIndex: Int?

    public init(message: String, argumentIndex: Int? = nil) {
        self.message = message
        self.argumentIndex = argumentIndex
    }

    public var description: String { message }
}
