import Wire

/// `ParseJSON`: a JSON object becomes a map and an array a list; numbers become doubles, as OTTL's decoder gives
/// `float64` for every JSON number. Other top-level values, malformed JSON and nesting deeper than
/// ``maximumDepth`` are errors.
enum OTTLJSON {
    static let maximumDepth = 128

    struct Failure: JSONSyntaxFailure {
        let reason: String
        let offset: Int
        init(jsonSyntax reason: String, offset: Int) {
            self.reason = reason
            self.offset = offset
        }
    }

    static func parse(_ text: String) throws(OTTLRuntimeError) -> OTLPAnyValue {
        let bytes = Array(text.utf8)
        let result: Result<OTLPAnyValue?, Failure> = bytes.withUnsafeBufferPointer { buffer in
            var scanner = JSONScanner<Failure>(input: buffer)
            defer { scanner.release() }
            do throws(Failure) {
                scanner.skipWhitespace()
                let value = try scanner.tree(Tree())
                guard scanner.isAtEnd() else { throw scanner.failure("unexpected data after the JSON value") }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let value):
            switch value {
            case .kvlist?, .array?: return value ?? .kvlist([])
            default:
                throw OTTLRuntimeError("ParseJSON: the JSON is \(OTTLValues.typeName(value)), not an object or array")
            }
        case .failure(let failure):
            throw OTTLRuntimeError("ParseJSON: invalid JSON at byte \(failure.offset): \(failure.reason)")
        }
    }

    /// OTTL's values: a JSON null is no value (left out of lists), every number a double.
    private struct Tree: JSONTreeBuilder {
        var maximumDepth: Int { OTTLJSON.maximumDepth }
        var tooDeep: String { "nested more than \(OTTLJSON.maximumDepth) levels deep" }
        func null() -> OTLPAnyValue? { nil }
        func bool(_ value: Bool) -> OTLPAnyValue? { .bool(value) }
        func string(_ value: String) -> OTLPAnyValue? { .string(value) }
        func array(_ items: [OTLPAnyValue?]) -> OTLPAnyValue? { .array(items.compactMap { $0 }) }

        func object(_ members: [(key: String, value: OTLPAnyValue?)]) -> OTLPAnyValue? {
            var pairs: [OTLPKeyValue] = []
            for (key, value) in members { OTTLValues.put(&pairs, key, value) }
            return .kvlist(pairs)
        }

        func number(_ text: UnsafeBufferPointer<UInt8>, start: Int, scanner: borrowing JSONScanner<Failure>)
            throws(Failure) -> OTLPAnyValue?
        {
            let text = String(decoding: text, as: UTF8.self)
            guard let number = Double(text) else { throw scanner.failure("invalid number \(text)") }
            return .double(number)
        }
    }
}
