import Wire

/// Where a label of a log entry came from. Loki's `LabelCategory`: when two categories hold the same name, parsed
/// labels win over structured metadata, which wins over stream labels.
public enum LabelCategory: Int, Sendable {
    case stream = 0
    case structuredMetadata = 1
    case parsed = 2
}

/// The labels of one log entry while a pipeline runs: Loki's `LabelsBuilder`.
///
/// The stream labels (`base`) stay as they are; stages add labels per category, delete labels and set
/// `__error__` / `__error_details__`. `reset()` readies it for the next entry without freeing its buffers, so
/// one builder serves every entry of a stream.
public struct LabelsBuilder: Sendable {
    /// The stream's labels, sorted by name.
    public let base: [LabelPair]
    private(set) var added: [[LabelPair]] = [[], [], []]
    private(set) var deleted: [String] = []
    /// `__error__`, "" when unset.
    public var error = ""
    /// `__error_details__`, "" when unset.
    public var errorDetails = ""

    public init(base: [LabelPair]) {
        self.base = base
        for index in added.indices { added[index].reserveCapacity(16) }
    }

    /// Forgets everything the last entry set, keeping the buffers.
    @inline(__always)
    public mutating func reset() {
        if !added[0].isEmpty { added[0].removeAll(keepingCapacity: true) }
        if !added[1].isEmpty { added[1].removeAll(keepingCapacity: true) }
        if !added[2].isEmpty { added[2].removeAll(keepingCapacity: true) }
        if !deleted.isEmpty { deleted.removeAll(keepingCapacity: true) }
        error = ""
        errorDetails = ""
    }

    /// True when nothing changed since `reset()`: the labels are the stream's.
    @inline(__always)
    public var isUnchanged: Bool {
        added[0].isEmpty && added[1].isEmpty && added[2].isEmpty && deleted.isEmpty && error.isEmpty
            && errorDetails.isEmpty
    }

    public var hasError: Bool { !error.isEmpty }

    /// Whether the stream labels have `name`: parsed keys that collide with them get the `_extracted` suffix.
    @inline(__always)
    public func baseHas(_ name: String) -> Bool {
        for pair in base where pair.name == name { return true }
        return false
    }

    /// The value of `name` and its category: added labels first (stream, metadata, parsed, as Loki looks them
    /// up), then stream labels unless deleted.
    public func getWithCategory(_ name: String) -> (value: String, category: LabelCategory)? {
        for category in 0..<3 {
            for pair in added[category] where pair.name == name {
                return (pair.value, LabelCategory(rawValue: category) ?? .parsed)
            }
        }
        for deletedName in deleted where deletedName == name { return nil }
        for pair in base where pair.name == name { return (pair.value, .stream) }
        return nil
    }

    /// The current value of `name`, nil when absent. `__error__` and `__error_details__` are not labels here.
    @inline(__always)
    public func get(_ name: String) -> String? {
        getWithCategory(name)?.value
    }

    /// A label filter's view: `__error__` and `__error_details__` read the error fields, others `get`.
    func filterValue(_ name: String) -> String? {
        if name == LogPipeline.errorLabel { return error }
        if name == LogPipeline.errorDetailsLabel { return errorDetails }
        return get(name)
    }

    /// Sets a label with Loki's precedence: a parsed label hides structured metadata and stream labels of that
    /// name; structured metadata hides stream labels unless a parsed label exists; a stream-category label is
    /// ignored when metadata or a parsed label of that name exists.
    public mutating func set(_ category: LabelCategory, _ name: String, _ value: String) {
        switch category {
        case .parsed:
            remove(name, from: .structuredMetadata)
            remove(name, from: .stream)
        case .structuredMetadata:
            remove(name, from: .stream)
            if contains(name, in: .parsed) { return }
        case .stream:
            if contains(name, in: .structuredMetadata) || contains(name, in: .parsed) { return }
        }
        let index = category.rawValue
        for position in added[index].indices where added[index][position].name == name {
            added[index][position].value = value
            return
        }
        added[index].append(LabelPair(name: name, value: value))
    }

    /// Loki's `Add`: a name the stream already has gets `_extracted`; `__error__` and `__error_details__` set the
    /// error fields.
    public mutating func add(_ category: LabelCategory, _ pairs: [LabelPair]) {
        for pair in pairs {
            var name = pair.name
            if baseHas(name) { name += LogPipeline.duplicateSuffix }
            if name == LogPipeline.errorLabel {
                error = pair.value
            } else if name == LogPipeline.errorDetailsLabel {
                errorDetails = pair.value
            } else {
                set(category, name, pair.value)
            }
        }
    }

    /// Deletes `name` from every category and from the stream labels.
    public mutating func delete(_ name: String) {
        remove(name, from: .stream)
        remove(name, from: .structuredMetadata)
        remove(name, from: .parsed)
        deleted.append(name)
    }

    private func contains(_ name: String, in category: LabelCategory) -> Bool {
        for pair in added[category.rawValue] where pair.name == name { return true }
        return false
    }

    private mutating func remove(_ name: String, from category: LabelCategory) {
        let index = category.rawValue
        guard !added[index].isEmpty else { return }
        added[index].removeAll { $0.name == name }
    }

    /// Every label of the entry, unsorted: stream labels (minus deleted ones and those metadata or parsed labels
    /// hide, with stream-category overrides), structured metadata not hidden by parsed labels, parsed labels, then
    /// `__error__` and `__error_details__` when set. Loki's `UnsortedLabels`.
    public func appendLabels(to buffer: inout [LabelPair]) {
        if isUnchanged {
            buffer.append(contentsOf: base)
            return
        }
        outer: for pair in base {
            for name in deleted where name == pair.name { continue outer }
            if contains(pair.name, in: .structuredMetadata) || contains(pair.name, in: .parsed) { continue }
            var value = pair.value
            for override in added[0] where override.name == pair.name { value = override.value }
            buffer.append(LabelPair(name: pair.name, value: value))
        }
        for pair in added[1] where !contains(pair.name, in: .parsed) { buffer.append(pair) }
        buffer.append(contentsOf: added[2])
        if !error.isEmpty { buffer.append(LabelPair(name: LogPipeline.errorLabel, value: error)) }
        if !errorDetails.isEmpty { buffer.append(LabelPair(name: LogPipeline.errorDetailsLabel, value: errorDetails)) }
    }

    /// Every label, sorted by name (stable): what Loki returns as the entry's stream labels.
    public var labels: [LabelPair] {
        var buffer: [LabelPair] = []
        appendLabels(to: &buffer)
        buffer.sort { $0.name < $1.name }
        return buffer
    }
}
