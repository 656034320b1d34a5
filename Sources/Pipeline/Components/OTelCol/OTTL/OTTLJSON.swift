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
                let value = try Self.value(&scanner, depth: 0)
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

    private static func value(_ scanner: inout JSONScanner<Failure>, depth: Int) throws(Failure) -> OTLPAnyValue? {
        guard depth < maximumDepth else { throw scanner.failure("nested more than \(maximumDepth) levels deep") }
        switch try scanner.peek() {
        case UInt8(ascii: "{"):
            var pairs: [OTLPKeyValue] = []
            if try scanner.beginObject() {
                repeat {
                    let key = String(decoding: try scanner.key(), as: UTF8.self)
                    OTTLValues.put(&pairs, key, try value(&scanner, depth: depth + 1))
                } while try scanner.nextMember()
            }
            return .kvlist(pairs)
        case UInt8(ascii: "["):
            var items: [OTLPAnyValue] = []
            if try scanner.beginArray() {
                repeat {
                    if let item = try value(&scanner, depth: depth + 1) { items.append(item) }
                } while try scanner.nextElement()
            }
            return .array(items)
        case UInt8(ascii: "\""):
            return .string(String(decoding: try scanner.string(), as: UTF8.self))
        case UInt8(ascii: "t"):
            try scanner.literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try scanner.literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try scanner.literal("null")
            return nil
        default:
            let text = String(decoding: try scanner.number(), as: UTF8.self)
            guard let number = Double(text) else { throw scanner.failure("invalid number \(text)") }
            return .double(number)
        }
    }
}
