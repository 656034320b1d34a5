/// How a JSON document becomes a tree: the walk over ``JSONScanner``'s tokens is written once (here), and each
/// tree built from JSON (Alloy's values, Go template values, OTTL's values) says only how it makes its nodes and
/// words its errors.
public protocol JSONTreeBuilder {
    associatedtype Node
    associatedtype Failure: JSONSyntaxFailure

    /// Containers nested deeper than this are refused with ``tooDeep``, so that no input exhausts the stack.
    var maximumDepth: Int { get }
    var tooDeep: String { get }

    func null() -> Node
    func bool(_ value: Bool) -> Node
    func string(_ value: String) -> Node
    /// A number from the text the scanner read; `start` is its offset, for errors.
    func number(_ text: UnsafeBufferPointer<UInt8>, start: Int, scanner: borrowing JSONScanner<Failure>) throws(Failure) -> Node
    /// An object's members in document order (a key may repeat: the builder decides which wins).
    func object(_ members: [(key: String, value: Node)]) -> Node
    func array(_ items: [Node]) -> Node
    /// The error for a value that cannot start with the byte at the scanner's position; nil reads it as a number
    /// (whose reader then says what is wrong).
    func unexpectedValue(_ scanner: borrowing JSONScanner<Failure>) -> Failure?
    /// The error for an object member that does not start with a string key; nil leaves it to the scanner.
    func unexpectedKey(_ scanner: borrowing JSONScanner<Failure>) -> Failure?
}

extension JSONTreeBuilder {
    public func unexpectedValue(_ scanner: borrowing JSONScanner<Failure>) -> Failure? { nil }
    public func unexpectedKey(_ scanner: borrowing JSONScanner<Failure>) -> Failure? { nil }
}

extension JSONScanner {
    /// The value at the position as `builder`'s tree.
    public mutating func tree<Builder: JSONTreeBuilder>(_ builder: Builder, depth: Int = 0) throws(Failure) -> Builder.Node
    where Builder.Failure == Failure {
        guard depth < builder.maximumDepth else { throw failure(builder.tooDeep) }
        switch try peek() {
        case UInt8(ascii: "{"):
            var members: [(key: String, value: Builder.Node)] = []
            if try beginObject() {
                repeat {
                    if try peek() != UInt8(ascii: "\""), let failure = builder.unexpectedKey(self) { throw failure }
                    let key = String(decoding: try self.key(), as: UTF8.self)
                    members.append((key, try tree(builder, depth: depth + 1)))
                } while try nextMember()
            }
            return builder.object(members)
        case UInt8(ascii: "["):
            var items: [Builder.Node] = []
            if try beginArray() {
                repeat {
                    items.append(try tree(builder, depth: depth + 1))
                } while try nextElement()
            }
            return builder.array(items)
        case UInt8(ascii: "\""):
            return builder.string(String(decoding: try string(), as: UTF8.self))
        case UInt8(ascii: "t"):
            try literal("true")
            return builder.bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return builder.bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return builder.null()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = position
            return try builder.number(try number(), start: start, scanner: self)
        default:
            if let failure = builder.unexpectedValue(self) { throw failure }
            let start = position
            return try builder.number(try number(), start: start, scanner: self)
        }
    }
}
