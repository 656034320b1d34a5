import GoCompat
import Wire

/// What each `action` does to a record's attributes, as the collector's `attraction` package does it.
extension OTelColProcessorAttributes.Action {
    func apply(to attributes: inout [OTLPKeyValue], metadata: ClientMetadata) {
        let index = key.isEmpty ? nil : attributes.firstIndex { GoString.equal($0.key, key) }
        switch kind {
        case .insert, .update, .upsert:
            if kind == .insert && index != nil || kind == .update && index == nil { return }
            guard let value = sourceValue(attributes, metadata) else { return }
            if let index { attributes[index].value = value } else { attributes.append(OTLPKeyValue(key: key, value: value)) }
        case .delete:
            attributes.removeAll { pair in
                GoString.equal(pair.key, key) || (pattern?.regex.regex.firstMatch(pair.key) ?? false)
            }
        case .hash:
            for position in attributes.indices {
                let pair = attributes[position]
                guard GoString.equal(pair.key, key) || (pattern?.regex.regex.firstMatch(pair.key) ?? false) else { continue }
                attributes[position].value = .string(Self.hash(pair.value))
            }
        case .extract:
            guard let index, case .string(let text)? = attributes[index].value, let pattern,
                  let groups = pattern.regex.regex.firstMatchGroups(text) else { return }
            for (number, name) in pattern.regex.regex.captureNames.enumerated() {
                guard let name, number < groups.count else { continue }
                OTTLValues.put(&attributes, name, .string(groups[number].map(String.init) ?? ""))
            }
        case .convert:
            guard let index, let value = attributes[index].value, let convertedType,
                  let converted = Self.convert(value, to: convertedType) else { return }
            attributes[index].value = converted
        }
    }

    private func sourceValue(_ attributes: [OTLPKeyValue], _ metadata: ClientMetadata) -> OTLPAnyValue? {
        switch source {
        case .value(let value)?: return value
        case .attribute(let name)?: return attributes.first { GoString.equal($0.key, name) }?.value ?? nil
        case .context(let name)?:
            let values = metadata[name]
            return values.isEmpty ? nil : .string(values.joined(separator: ";"))
        case nil: return nil
        }
    }

    /// The collector's `sha2Hasher`: SHA-256 hex of the value's bytes (an empty string too); "" for a map, list,
    /// bytes or empty value.
    static func hash(_ value: OTLPAnyValue?) -> String {
        let bytes: [UInt8]
        switch value {
        case .string(let text)?: bytes = Array(text.utf8)
        case .bool(let flag)?: bytes = [flag ? 1 : 0]
        case .int(let number)?: bytes = withUnsafeBytes(of: UInt64(bitPattern: number).littleEndian, Array.init)
        case .double(let number)?: bytes = withUnsafeBytes(of: number.bitPattern.littleEndian, Array.init)
        default: return ""
        }
        return SHA256Hex.digest(bytes)
    }

    /// The collector's `convertValue`: a value that does not convert is left as it was (nil).
    static func convert(_ value: OTLPAnyValue, to type: ConvertedType) -> OTLPAnyValue? {
        switch (type, value) {
        case (.int, .int): return value
        case (.int, .double(let number)):
            return Int64(exactly: number.rounded(.towardZero)).map { .int($0) }
        case (.int, .bool(let flag)): return .int(flag ? 1 : 0)
        case (.int, .string(let text)): return Int64(text).map { .int($0) }
        case (.double, .double): return value
        case (.double, .int(let number)): return .double(Double(number))
        case (.double, .bool(let flag)): return .double(flag ? 1 : 0)
        case (.double, .string(let text)): return Double(text).map { .double($0) }
        case (.string, _): return .string(GoJSON.asString(value))
        default: return nil
        }
    }
}
