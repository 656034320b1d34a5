import Wire

/// Reads a component's arguments out of its block: each attribute is evaluated when it is read, converted to the
/// type the component asks for, and an error points at the attribute's value. Whatever the component did not read
/// is reported by `finish()` as an unknown attribute or block, as Alloy does.
///
/// Used by one decoding at a time, on the graph controller's task; not Sendable.
public final class ArgumentReader {
    /// The block being read (`loki.write "default"`), or a nested block (`endpoint`).
    public let name: String
    public let range: SourceRange
    let body: Body
    let file: AlloyFile
    let scope: Scope
    private var readAttributes: Set<String> = []
    private var readBlocks: Set<String> = []
    private var children: [ArgumentReader] = []
    /// Shared by a reader and its nested readers: the values read as secrets.
    private let secrets: SecretRecord

    /// The value ranges of the attributes read as secrets, here and in nested blocks, so that whoever shows the
    /// arguments (the UI API) shows `(secret)` for them even when they were written as plain strings.
    public var secretValueRanges: Set<SourceRange> { secrets.ranges }

    final class SecretRecord {
        var ranges: Set<SourceRange> = []
    }

    public convenience init(name: String, range: SourceRange, body: Body, file: AlloyFile, scope: Scope) {
        self.init(name: name, range: range, body: body, file: file, scope: scope, secrets: SecretRecord())
    }

    init(name: String, range: SourceRange, body: Body, file: AlloyFile, scope: Scope, secrets: SecretRecord) {
        self.name = name
        self.range = range
        self.body = body
        self.file = file
        self.scope = scope
        self.secrets = secrets
    }

    /// A reader for a component's top-level block.
    public convenience init(block: Block, file: AlloyFile, scope: Scope) {
        self.init(name: block.id, range: block.nameRange, body: block.body, file: file, scope: scope)
    }

    // MARK: Errors

    /// An error at the attribute `name` when it is present, else at the block.
    public func error(_ name: String, _ message: String) -> Diagnostic {
        let where_ = attribute(name)?.value.range ?? range
        return file.diagnostic(where_, message)
    }

    /// An error at the block itself.
    public func blockError(_ message: String) -> Diagnostic {
        file.diagnostic(range, message)
    }

    /// Unknown and duplicated attributes and blocks, here and in the nested blocks that were read.
    public func finish() -> [Diagnostic] {
        var problems: [Diagnostic] = []
        var seen: [String: SourceRange] = [:]
        for statement in body.statements {
            switch statement {
            case .attribute(let attribute):
                if let first = seen[attribute.name] {
                    problems.append(file.diagnostic(
                        attribute.nameRange, "attribute \(GoQuote.quote(attribute.name)) may only be set once (first set at \(first.start))"))
                } else {
                    seen[attribute.name] = attribute.nameRange
                }
                if !readAttributes.contains(attribute.name) {
                    problems.append(file.diagnostic(
                        attribute.nameRange, "unrecognized attribute name \(GoQuote.quote(attribute.name)) in \(name)"))
                }
            case .block(let block):
                if !readBlocks.contains(block.fullName) {
                    problems.append(file.diagnostic(
                        block.nameRange, "unrecognized block name \(GoQuote.quote(block.fullName)) in \(name)"))
                }
            }
        }
        for child in children { problems.append(contentsOf: child.finish()) }
        return problems
    }

    // MARK: Raw access

    func attribute(_ name: String) -> Attribute? {
        body.attributes.first { $0.name == name }
    }

    /// Whether the attribute is set (it counts as read).
    public func has(_ name: String) -> Bool {
        readAttributes.insert(name)
        return attribute(name) != nil
    }

    /// The attribute's value, evaluated; nil when it is not set. `null` counts as not set, as in Alloy.
    public func value(_ name: String) throws(Diagnostic) -> Value? {
        readAttributes.insert(name)
        guard let attribute = attribute(name) else { return nil }
        let value = try Evaluator.evaluate(attribute.value, in: scope, file: file)
        if case .null = value { return nil }
        return value
    }

    /// An error naming the attribute when it is not set (for attributes a typed reader reads after this check).
    public func requirePresent(_ name: String) throws(Diagnostic) {
        guard has(name) else {
            throw blockError("missing required attribute \(GoQuote.quote(name)) in \(self.name)")
        }
    }

    /// The attribute's value; an error naming it when it is missing.
    public func required(_ name: String) throws(Diagnostic) -> Value {
        guard let value = try value(name) else {
            throw blockError("missing required attribute \(GoQuote.quote(name)) in \(self.name)")
        }
        return value
    }

    private func mismatch(_ name: String, expected: String, got value: Value) -> Diagnostic {
        error(name, "\(name): expected \(expected), got \(value.typeName)")
    }

    // MARK: Typed attributes

    public func string(_ name: String) throws(Diagnostic) -> String? {
        guard let value = try value(name) else { return nil }
        switch value {
        case .string(let text): return text
        default: throw mismatch(name, expected: "string", got: value)
        }
    }

    public func string(_ name: String, default fallback: String) throws(Diagnostic) -> String {
        try string(name) ?? fallback
    }

    public func requiredString(_ name: String) throws(Diagnostic) -> String {
        guard let text = try string(name) else {
            throw blockError("missing required attribute \(GoQuote.quote(name)) in \(self.name)")
        }
        return text
    }

    /// A string or a secret (Alloy's `secret` type accepts both); the text, which must never be logged. `name`
    /// must be one of ``SecretAttributes/names``, so that diagnostics mask it too.
    public func secret(_ name: String) throws(Diagnostic) -> String? {
        assert(SecretAttributes.names.contains(name), "\(name) is read as a secret: add it to SecretAttributes.names")
        if let attribute = attribute(name) { secrets.ranges.insert(attribute.value.range) }
        guard let value = try value(name) else { return nil }
        switch value {
        case .string(let text), .secret(let text): return text
        default: throw mismatch(name, expected: "secret", got: value)
        }
    }

    public func bool(_ name: String, default fallback: Bool) throws(Diagnostic) -> Bool {
        guard let value = try value(name) else { return fallback }
        guard case .bool(let flag) = value else { throw mismatch(name, expected: "bool", got: value) }
        return flag
    }

    public func int(_ name: String, default fallback: Int) throws(Diagnostic) -> Int {
        guard let value = try value(name) else { return fallback }
        guard case .number(let number) = value, let whole = number.int64Value, let result = Int(exactly: whole) else {
            throw mismatch(name, expected: "whole number", got: value)
        }
        return result
    }

    public func double(_ name: String, default fallback: Double) throws(Diagnostic) -> Double {
        guard let value = try value(name) else { return fallback }
        guard case .number(let number) = value else { throw mismatch(name, expected: "number", got: value) }
        return number.doubleValue
    }

    /// A Go duration string (`"500ms"`, `"1m30s"`), as Alloy's `duration` arguments take.
    public func duration(_ name: String, default fallback: Duration) throws(Diagnostic) -> Duration {
        guard let text = try string(name) else { return fallback }
        switch DurationText.parse(text) {
        case .success(let nanoseconds): return .nanoseconds(nanoseconds)
        case .failure(let failure):
            throw error(name, "\(name): invalid duration \(GoQuote.quote(text)) (\(failure)); expected e.g. \"500ms\", \"10s\", \"1m30s\"")
        }
    }

    /// A size in bytes written as text (`"1MiB"`, `"10MB"`, powers of 1024 as Alloy's `units.Base2Bytes`) or a
    /// whole number; nil when the attribute is not set.
    public func byteSize(_ name: String) throws(Diagnostic) -> Int? {
        guard let value = try value(name) else { return nil }
        if case .number = value { return try int(name, default: 0) }
        guard case .string(let text) = value else { throw mismatch(name, expected: "size such as \"1MiB\"", got: value) }
        switch ByteSizeText.parse(text) {
        case .success(let bytes): return bytes
        case .failure:
            throw error(name, "\(name): invalid size \(GoQuote.quote(text)); expected e.g. \"512KiB\", \"1MiB\", \"10MB\"")
        }
    }

    public func byteSize(_ name: String, default fallback: Int) throws(Diagnostic) -> Int {
        try byteSize(name) ?? fallback
    }

    /// An object of strings (or secrets), e.g. `headers` or `external_labels`.
    public func stringMap(_ name: String) throws(Diagnostic) -> [String: String] {
        guard let value = try value(name) else { return [:] }
        guard case .object(let object) = value else { throw mismatch(name, expected: "object of strings", got: value) }
        var result: [String: String] = [:]
        for (key, item) in object.pairs {
            switch item {
            case .string(let text), .secret(let text): result[key] = text
            default: throw error(name, "\(name).\(key): expected string, got \(item.typeName)")
            }
        }
        return result
    }

    public func stringList(_ name: String, default fallback: [String] = []) throws(Diagnostic) -> [String] {
        guard let value = try value(name) else { return fallback }
        guard case .array(let items) = value else { throw mismatch(name, expected: "list of strings", got: value) }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else {
                throw error(name, "\(name)[\(index)]: expected string, got \(item.typeName)")
            }
            result.append(text)
        }
        return result
    }

    /// The list attribute `name` as capsules of `kind`; a capsule of another kind is an error naming both. For
    /// Pipeline's typed readers (`logsReceivers`, `otlpConsumers`).
    package func capsules<Kind: CapsuleKind>(_ name: String, _ kind: Kind.Type) throws(Diagnostic) -> [Kind.Payload] {
        guard let value = try value(name) else { return [] }
        guard case .array(let items) = value else {
            throw mismatch(name, expected: "list of \(Kind.typeName)", got: value)
        }
        var result: [Kind.Payload] = []
        for (index, item) in items.enumerated() {
            guard case .capsule(let capsule) = item, let payload = capsule.payload(kind) else {
                let found = if case .capsule(let other) = item { other.typeName } else { item.typeName }
                throw error(name, "\(name)[\(index)]: expected \(Kind.typeName), got \(found)")
            }
            result.append(payload)
        }
        return result
    }

    // MARK: Blocks

    /// The nested blocks called `name`, in order, each as a reader of its own.
    public func blocks(_ name: String) -> [ArgumentReader] {
        readBlocks.insert(name)
        let found = body.blocks.filter { $0.fullName == name && $0.label == nil }
        let readers = found.map {
            ArgumentReader(
                name: "\(self.name) > \(name)", range: $0.nameRange, body: $0.body, file: file, scope: scope, secrets: secrets)
        }
        children.append(contentsOf: readers)
        return readers
    }

    /// Every nested block in file order, whatever its name (`stage.cri {}`, `stage.json {}`, ...), each with its
    /// full name, its label (nil when it has none) and a reader of its own. All of them count as read: the caller
    /// reports the names it does not know.
    public func allBlocks() -> [(name: String, label: String?, reader: ArgumentReader)] {
        body.blocks.map { block in
            readBlocks.insert(block.fullName)
            let reader = ArgumentReader(
                name: "\(self.name) > \(block.fullName)", range: block.nameRange, body: block.body, file: file, scope: scope,
                secrets: secrets)
            children.append(reader)
            return (block.fullName, block.label, reader)
        }
    }

    /// The nested block called `name`, if present; an error when it appears more than once.
    public func block(_ name: String) throws(Diagnostic) -> ArgumentReader? {
        let found = blocks(name)
        if found.count > 1 {
            throw file.diagnostic(found[1].range, "block \(GoQuote.quote(name)) may only be given once in \(self.name)")
        }
        return found.first
    }
}
