import GoCompat
import Wire

/// An error a statement met while running (a type it cannot work on, invalid JSON): handled by `error_mode`.
public struct OTTLRuntimeError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    init(_ message: String) {
        self.message = message
    }
}

/// What statements read and change: the resource, the scope and, in the log context, the record.
struct OTTLTarget {
    var resource: OTLPResource
    var scope: OTLPInstrumentationScope
    var record: OTLPLogRecord
}

extension OTTLStatement {
    /// Runs the statement on `target`: the editor, when the condition holds. Returns whether the editor ran.
    @discardableResult
    func execute(_ target: inout OTTLTarget) throws(OTTLRuntimeError) -> Bool {
        if let condition, try !condition.evaluate(target) { return false }
        try editor.apply(to: &target)
        return true
    }
}

extension OTTLConditionText {
    func evaluate(_ target: OTTLTarget) throws(OTTLRuntimeError) -> Bool {
        try condition.evaluate(target)
    }
}

// MARK: Conditions

extension OTTLCondition {
    func evaluate(_ target: OTTLTarget) throws(OTTLRuntimeError) -> Bool {
        switch self {
        case .or(let left, let right):
            if try left.evaluate(target) { return true }
            return try right.evaluate(target)
        case .and(let left, let right):
            if try !left.evaluate(target) { return false }
            return try right.evaluate(target)
        case .not(let inner): return try !inner.evaluate(target)
        case .constant(let flag): return flag
        case .converter(let call):
            let value = try OTTLExpression.converter(call).evaluate(target)
            guard case .bool(let flag)? = value else {
                throw OTTLRuntimeError("a condition's converter returned \(OTTLValues.typeName(value)), not a boolean")
            }
            return flag
        case .compare(let left, let comparison, let right):
            return OTTLValues.compare(try left.evaluate(target), comparison, try right.evaluate(target))
        }
    }
}

// MARK: Values

extension OTTLExpression {
    func evaluate(_ target: OTTLTarget) throws(OTTLRuntimeError) -> OTLPAnyValue? {
        switch self {
        case .literal(let value): return value
        case .path(let path): return try path.get(target)
        case .list(let items):
            var values: [OTLPAnyValue] = []
            for item in items {
                // OTLP arrays have no spelling for an empty value; a nil element is left out.
                if let value = try item.evaluate(target) { values.append(value) }
            }
            return .array(values)
        case .map(let entries):
            var pairs: [OTLPKeyValue] = []
            for entry in entries {
                OTTLValues.put(&pairs, entry.key, try entry.value.evaluate(target))
            }
            return .kvlist(pairs)
        case .converter(let call):
            let value = try call.converter.evaluate(target)
            return try OTTLValues.index(value, call.keys)
        }
    }
}

extension OTTLConverter {
    func evaluate(_ target: OTTLTarget) throws(OTTLRuntimeError) -> OTLPAnyValue? {
        switch self {
        case .parseJSON(let argument):
            guard case .string(let text)? = try argument.evaluate(target) else {
                throw OTTLRuntimeError("ParseJSON: expected a string, got \(OTTLValues.typeName(try argument.evaluate(target)))")
            }
            return try OTTLJSON.parse(text)
        case .concat(let items, let delimiter):
            var parts: [String] = []
            for item in items {
                let value = try item.evaluate(target)
                parts.append(value.map(OTTLValues.string) ?? "<nil>")
            }
            return .string(parts.joined(separator: delimiter))
        case .isMatch(let argument, let pattern):
            guard let value = try argument.evaluate(target) else { return .bool(false) }
            return .bool(pattern.regex.regex.firstMatch(OTTLValues.string(value)))
        case .convertCase(let argument, let conversion):
            let value = try argument.evaluate(target)
            guard let value else { return nil }
            guard case .string(let text) = value else {
                throw OTTLRuntimeError("ConvertCase: expected a string, got \(OTTLValues.typeName(value))")
            }
            return .string(conversion == .lower ? text.lowercased() : text.uppercased())
        case .int(let argument):
            switch try argument.evaluate(target) {
            case .int(let number)?: return .int(number)
            case .double(let number)?:
                guard let whole = Int64(exactly: number.rounded(.towardZero)) else { return nil }
                return .int(whole)
            case .bool(let flag)?: return .int(flag ? 1 : 0)
            case .string(let text)?: return Int64(text).map { .int($0) }
            default: return nil
            }
        case .double(let argument):
            switch try argument.evaluate(target) {
            case .int(let number)?: return .double(Double(number))
            case .double(let number)?: return .double(number)
            case .bool(let flag)?: return .double(flag ? 1 : 0)
            case .string(let text)?: return Double(text).map { .double($0) }
            default: return nil
            }
        case .string(let argument):
            return try argument.evaluate(target).map { .string(OTTLValues.string($0)) }
        case .sha256(let argument):
            let value = try argument.evaluate(target)
            guard case .string(let text)? = value else {
                throw OTTLRuntimeError("SHA256: expected a string, got \(OTTLValues.typeName(value))")
            }
            return .string(SHA256Hex.digest(Array(text.utf8)))
        }
    }
}

// MARK: Paths

extension OTTLPath {
    func get(_ target: OTTLTarget) throws(OTTLRuntimeError) -> OTLPAnyValue? {
        try OTTLValues.index(root(target), keys)
    }

    /// The field's value without the keys.
    private func root(_ target: OTTLTarget) -> OTLPAnyValue? {
        switch field {
        case .attributes: .kvlist(target.record.attributes)
        case .body: target.record.body
        case .severityText: .string(target.record.severityText)
        case .severityNumber: .int(Int64(target.record.severityNumber))
        case .timeUnixNano: .int(Int64(truncatingIfNeeded: target.record.timeUnixNano))
        case .observedTimeUnixNano: .int(Int64(truncatingIfNeeded: target.record.observedTimeUnixNano))
        case .flags: .int(Int64(target.record.flags))
        case .eventName: .string(target.record.eventName)
        case .droppedAttributesCount: .int(Int64(target.record.droppedAttributesCount))
        case .resourceAttributes: .kvlist(target.resource.attributes)
        case .resourceDroppedAttributesCount: .int(Int64(target.resource.droppedAttributesCount))
        case .scopeName: .string(target.scope.name)
        case .scopeVersion: .string(target.scope.version)
        case .scopeAttributes: .kvlist(target.scope.attributes)
        case .scopeDroppedAttributesCount: .int(Int64(target.scope.droppedAttributesCount))
        }
    }

    /// Sets the path to `value` (never nil: `set` does nothing for nil). A value of the wrong type for a plain
    /// field is ignored, as OTTL does; a key into something that is not a map or list is an error. Missing maps
    /// on the way to a nested key are created.
    func set(_ value: OTLPAnyValue, in target: inout OTTLTarget) throws(OTTLRuntimeError) {
        if keys.isEmpty {
            setRoot(value, in: &target)
            return
        }
        // Attribute maps are changed in place, so that setting one key does not copy the whole list.
        switch field {
        case .attributes: return try OTTLValues.set(&target.record.attributes, keys[...], value, path: self)
        case .resourceAttributes: return try OTTLValues.set(&target.resource.attributes, keys[...], value, path: self)
        case .scopeAttributes: return try OTTLValues.set(&target.scope.attributes, keys[...], value, path: self)
        default: break
        }
        var container = root(target)
        try OTTLValues.set(&container, keys[...], value, path: self)
        if let container { setRoot(container, in: &target) }
    }

    /// Changes the map the path names with `change`; an error when it names something else (a missing nested
    /// map is left alone).
    func modifyMap(in target: inout OTTLTarget, _ change: (inout [OTLPKeyValue]) throws(OTTLRuntimeError) -> Void)
        throws(OTTLRuntimeError)
    {
        let current = try get(target)
        guard let current else { return }
        guard case .kvlist(var pairs) = current else {
            throw OTTLRuntimeError("expected a map, got \(OTTLValues.typeName(current))")
        }
        try change(&pairs)
        try set(.kvlist(pairs), in: &target)
    }

    private func setRoot(_ value: OTLPAnyValue, in target: inout OTTLTarget) {
        switch (field, value) {
        case (.attributes, .kvlist(let pairs)): target.record.attributes = pairs
        case (.body, _): target.record.body = value
        case (.severityText, .string(let text)): target.record.severityText = text
        case (.severityNumber, .int(let number)):
            if let number = Int32(exactly: number) { target.record.severityNumber = number }
        case (.timeUnixNano, .int(let number)): target.record.timeUnixNano = UInt64(bitPattern: number)
        case (.observedTimeUnixNano, .int(let number)): target.record.observedTimeUnixNano = UInt64(bitPattern: number)
        case (.flags, .int(let number)):
            if let number = UInt32(exactly: number) { target.record.flags = number }
        case (.eventName, .string(let text)): target.record.eventName = text
        case (.droppedAttributesCount, .int(let number)):
            if let number = UInt32(exactly: number) { target.record.droppedAttributesCount = number }
        case (.resourceAttributes, .kvlist(let pairs)): target.resource.attributes = pairs
        case (.resourceDroppedAttributesCount, .int(let number)):
            if let number = UInt32(exactly: number) { target.resource.droppedAttributesCount = number }
        case (.scopeName, .string(let text)): target.scope.name = text
        case (.scopeVersion, .string(let text)): target.scope.version = text
        case (.scopeAttributes, .kvlist(let pairs)): target.scope.attributes = pairs
        case (.scopeDroppedAttributesCount, .int(let number)):
            if let number = UInt32(exactly: number) { target.scope.droppedAttributesCount = number }
        default: break
        }
    }
}

// MARK: Editors

extension OTTLEditor {
    func apply(to target: inout OTTLTarget) throws(OTTLRuntimeError) {
        switch self {
        case .set(let path, let expression):
            guard let value = try expression.evaluate(target) else { return }
            try path.set(value, in: &target)
        case .deleteKey(let path, let key):
            try path.modifyMap(in: &target) { pairs in pairs.removeAll { GoString.equal($0.key, key) } }
        case .deleteMatchingKeys(let path, let pattern):
            try path.modifyMap(in: &target) { pairs in pairs.removeAll { pattern.regex.regex.firstMatch($0.key) } }
        case .keepKeys(let path, let keys):
            let keep = Set(keys)
            try path.modifyMap(in: &target) { pairs in pairs.removeAll { !keep.contains($0.key) } }
        case .keepMatchingKeys(let path, let pattern):
            try path.modifyMap(in: &target) { pairs in pairs.removeAll { !pattern.regex.regex.firstMatch($0.key) } }
        case .replacePattern(let path, let pattern, let replacement):
            guard case .string(let text)? = try path.get(target) else { return }
            let template = try Self.replacement(replacement, target)
            try path.set(.string(OTTLValues.replaceAll(pattern, in: text, with: template)), in: &target)
        case .replaceAllPatterns(let path, let mode, let pattern, let replacement):
            let template = try Self.replacement(replacement, target)
            try path.modifyMap(in: &target) { pairs in
                switch mode {
                case .value:
                    for index in pairs.indices {
                        guard case .string(let text)? = pairs[index].value else { continue }
                        pairs[index].value = .string(OTTLValues.replaceAll(pattern, in: text, with: template))
                    }
                case .key:
                    var renamed: [OTLPKeyValue] = []
                    for pair in pairs {
                        let key = pattern.regex.regex.firstMatch(pair.key)
                            ? OTTLValues.replaceAll(pattern, in: pair.key, with: template) : pair.key
                        OTTLValues.put(&renamed, key, pair.value)
                    }
                    pairs = renamed
                }
            }
        case .mergeMaps(let path, let sourceExpression, let strategy):
            let source = try sourceExpression.evaluate(target)
            guard case .kvlist(let additions)? = source else {
                throw OTTLRuntimeError("merge_maps: the source is \(OTTLValues.typeName(source)), not a map")
            }
            try path.modifyMap(in: &target) { pairs in
                for pair in additions {
                    let exists = pairs.contains { GoString.equal($0.key, pair.key) }
                    switch strategy {
                    case .insert where exists, .update where !exists: continue
                    default: OTTLValues.put(&pairs, pair.key, pair.value)
                    }
                }
            }
        case .limit(let path, let limit, let priority):
            try path.modifyMap(in: &target) { pairs in
                guard pairs.count > limit else { return }
                let priorityKeys = Set(priority)
                var kept = pairs.filter { priorityKeys.contains($0.key) }.prefix(limit).map { $0 }
                for pair in pairs where kept.count < limit && !priorityKeys.contains(pair.key) { kept.append(pair) }
                let keptKeys = Set(kept.map(\.key))
                pairs.removeAll { !keptKeys.contains($0.key) }
            }
        case .truncateAll(let path, let limit):
            try path.modifyMap(in: &target) { pairs in
                for index in pairs.indices {
                    guard case .string(let text)? = pairs[index].value, text.utf8.count > limit else { continue }
                    pairs[index].value = .string(OTTLValues.prefix(text, bytes: limit))
                }
            }
        }
    }

    private static func replacement(_ expression: OTTLExpression, _ target: OTTLTarget) throws(OTTLRuntimeError)
        -> String
    {
        let value = try expression.evaluate(target)
        guard case .string(let text)? = value else {
            throw OTTLRuntimeError("the replacement is \(OTTLValues.typeName(value)), not a string")
        }
        return text
    }
}

// MARK: Value helpers

/// OTTL's rules for values: comparison, conversion to text, keys into maps and lists.
enum OTTLValues {
    static func typeName(_ value: OTLPAnyValue?) -> String {
        switch value {
        case nil: "nil"
        case .string?: "a string"
        case .bool?: "a bool"
        case .int?: "an int"
        case .double?: "a double"
        case .array?: "a list"
        case .kvlist?: "a map"
        case .bytes?: "bytes"
        }
    }

    /// The value as text (pdata's `AsString`: maps and lists as JSON).
    static func string(_ value: OTLPAnyValue) -> String {
        GoJSON.asString(value)
    }

    /// OTTL's comparison: numbers compare as numbers (an int with a double too), strings bytewise, booleans and
    /// nil only for equality; values of different kinds are unequal and never less or greater.
    static func compare(_ left: OTLPAnyValue?, _ comparison: OTTLComparison, _ right: OTLPAnyValue?) -> Bool {
        let order: Int?
        switch (left, right) {
        case (nil, nil): order = 0
        case (.int(let a)?, .int(let b)?): order = a < b ? -1 : (a == b ? 0 : 1)
        case (.int(let a)?, .double(let b)?): order = numeric(Double(a), b)
        case (.double(let a)?, .int(let b)?): order = numeric(a, Double(b))
        case (.double(let a)?, .double(let b)?): order = numeric(a, b)
        case (.string(let a)?, .string(let b)?): order = GoString.compare(a, b)
        case (.bool(let a)?, .bool(let b)?):
            return equalityOnly(a == b, comparison)
        case (let a?, let b?) where sameKind(a, b):
            return equalityOnly(a == b, comparison)
        default:
            return comparison == .notEqual
        }
        guard let order else { return comparison == .notEqual }
        switch comparison {
        case .equal: return order == 0
        case .notEqual: return order != 0
        case .less: return order < 0
        case .lessOrEqual: return order <= 0
        case .greater: return order > 0
        case .greaterOrEqual: return order >= 0
        }
    }

    private static func numeric(_ a: Double, _ b: Double) -> Int? {
        if a.isNaN || b.isNaN { return nil }
        return a < b ? -1 : (a == b ? 0 : 1)
    }

    private static func equalityOnly(_ equal: Bool, _ comparison: OTTLComparison) -> Bool {
        switch comparison {
        case .equal: equal
        case .notEqual: !equal
        default: false
        }
    }

    private static func sameKind(_ a: OTLPAnyValue, _ b: OTLPAnyValue) -> Bool {
        switch (a, b) {
        case (.array, .array), (.kvlist, .kvlist), (.bytes, .bytes): true
        default: false
        }
    }

    /// Follows `keys` into `value`: a missing map key or a nil value gives nil; a key of the wrong kind or an
    /// index out of range is an error.
    static func index(_ value: OTLPAnyValue?, _ keys: [OTTLKey]) throws(OTTLRuntimeError) -> OTLPAnyValue? {
        var current = value
        for key in keys {
            guard let value = current else { return nil }
            switch (value, key) {
            case (.kvlist(let pairs), .string(let name)):
                current = pairs.first { GoString.equal($0.key, name) }?.value ?? nil
            case (.array(let items), .index(let position)):
                guard position >= 0, position < items.count else {
                    throw OTTLRuntimeError("index \(position) is out of range for a list of \(items.count)")
                }
                current = items[Int(position)]
            case (_, .string(let name)):
                throw OTTLRuntimeError("cannot look up key \(GoQuote.quote(name)) in \(typeName(value))")
            case (_, .index(let position)):
                throw OTTLRuntimeError("cannot look up index \(position) in \(typeName(value))")
            }
        }
        return current
    }

    /// Sets `keys` inside `container` to `value`, creating maps for missing keys on the way.
    static func set(_ container: inout OTLPAnyValue?, _ keys: ArraySlice<OTTLKey>, _ value: OTLPAnyValue,
                    path: OTTLPath) throws(OTTLRuntimeError)
    {
        guard let key = keys.first else {
            container = value
            return
        }
        switch (container, key) {
        case (nil, .string(let name)):
            var child: OTLPAnyValue?
            try set(&child, keys.dropFirst(), value, path: path)
            container = .kvlist([OTLPKeyValue(key: name, value: child)])
        case (.kvlist(var pairs)?, .string):
            // Taken out while it changes (so that it is not copied) and put back whatever happens.
            container = nil
            defer { container = .kvlist(pairs) }
            try set(&pairs, keys, value, path: path)
        case (.array(var items)?, .index(let position)):
            guard position >= 0, position < items.count else {
                throw OTTLRuntimeError("index \(position) is out of range for a list of \(items.count)")
            }
            container = nil
            defer { container = .array(items) }
            var child: OTLPAnyValue? = items[Int(position)]
            try set(&child, keys.dropFirst(), value, path: path)
            if let child { items[Int(position)] = child }
        case (_, .string(let name)):
            throw OTTLRuntimeError("cannot set key \(GoQuote.quote(name)) in \(typeName(container))")
        case (_, .index(let position)):
            throw OTTLRuntimeError("cannot set index \(position) in \(typeName(container))")
        }
    }

    /// Sets `keys` (the first a string key) inside the attribute list `pairs`, in place.
    static func set(_ pairs: inout [OTLPKeyValue], _ keys: ArraySlice<OTTLKey>, _ value: OTLPAnyValue,
                    path: OTTLPath) throws(OTTLRuntimeError)
    {
        guard case .string(let name)? = keys.first else {
            var container: OTLPAnyValue? = .kvlist(pairs)
            try set(&container, keys, value, path: path)
            if case .kvlist(let updated)? = container { pairs = updated }
            return
        }
        guard let position = pairs.firstIndex(where: { GoString.equal($0.key, name) }) else {
            var child: OTLPAnyValue?
            try set(&child, keys.dropFirst(), value, path: path)
            pairs.append(OTLPKeyValue(key: name, value: child))
            return
        }
        if keys.count == 1 {
            pairs[position].value = value
            return
        }
        // Taken out while it changes, so that the nested value is not copied.
        var child = pairs[position].value
        pairs[position].value = nil
        defer { pairs[position].value = child }
        try set(&child, keys.dropFirst(), value, path: path)
    }

    /// pdata's `Put`: replaces the first pair called `key`, or appends one.
    static func put(_ pairs: inout [OTLPKeyValue], _ key: String, _ value: OTLPAnyValue?) {
        if let position = pairs.firstIndex(where: { GoString.equal($0.key, key) }) {
            pairs[position].value = value
        } else {
            pairs.append(OTLPKeyValue(key: key, value: value))
        }
    }

    /// Go's `Regexp.ReplaceAllString`: every match replaced by `template` with `$1` / `${name}` expanded.
    static func replaceAll(_ pattern: OTTLPattern, in text: String, with template: String) -> String {
        var out = ""
        var last = text.startIndex
        for ranges in pattern.regex.regex.allMatchRanges(text) {
            guard let whole = ranges.first ?? nil else { continue }
            out += text[last..<whole.lowerBound]
            out += pattern.regex.expand(template, groups: ranges.map { $0.map { text[$0] } })
            last = whole.upperBound
        }
        return out + text[last...]
    }

    /// The longest prefix of `text` of at most `bytes` UTF-8 bytes that ends on a character boundary.
    static func prefix(_ text: String, bytes: Int) -> String {
        var count = 0
        var end = text.startIndex
        for index in text.unicodeScalars.indices {
            let size = text.unicodeScalars[index].utf8.count
            guard count + size <= bytes else { break }
            count += size
            end = text.unicodeScalars.index(after: index)
        }
        return String(text.unicodeScalars[..<end])
    }
}
