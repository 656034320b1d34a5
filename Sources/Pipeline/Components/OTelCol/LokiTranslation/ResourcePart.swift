import GoCompat
import Wire

/// What the records of one resource share, worked out once per resource: the labels it gives every record
/// (`exporter`, `job`, `instance` and its own `loki.resource.labels`), its `loki.format`, and its attributes once
/// the hints and those labels are removed, with their JSON.
struct ResourcePart {
    let attributes: [OTLPKeyValue]
    let labels: LabelDraft
    let format: String?
    let remaining: [OTLPKeyValue]
    /// The `resources` object of a JSON line; nil when no attribute is left.
    let remainingJSON: Result<[UInt8], GoJSON.UnsupportedValue>?
    /// `remaining` and its JSON for a record that has a `level` label, which takes out a `level` attribute.
    let remainingWithoutLevel: [OTLPKeyValue]
    let remainingJSONWithoutLevel: Result<[UInt8], GoJSON.UnsupportedValue>?

    init(_ resource: OTLPResource, id: Int = 0) {
        let attributes = resource.attributes
        self.attributes = attributes
        var labels = LabelDraft()
        labels.set("exporter", "OTLP")
        if let serviceName = LokiAttributes.get(attributes, "service.name") {
            var job = LokiAttributes.asString(serviceName)
            if let namespace = LokiAttributes.get(attributes, "service.namespace") {
                job = LokiAttributes.asString(namespace) + "/" + job
            }
            labels.set("job", job)
        }
        if let instance = LokiAttributes.get(attributes, "service.instance.id") {
            labels.set("instance", LokiAttributes.asString(instance))
        }
        if let hint = LokiAttributes.get(attributes, LokiTranslator.resourceLabelsHint) {
            labels.promote(hint, from: attributes)
        }
        labels.freeze(id: id)
        self.labels = labels
        format = LokiAttributes.get(attributes, LokiTranslator.formatHint).map(LokiAttributes.asString)
        var remaining = attributes
        labels.removePromoted(from: &remaining)
        self.remaining = remaining
        let json = Self.json(remaining)
        remainingJSON = json
        if remaining.contains(where: { GoString.equal($0.key, "level") }) {
            remainingWithoutLevel = remaining.filter { !GoString.equal($0.key, "level") }
            remainingJSONWithoutLevel = Self.json(remainingWithoutLevel)
        } else {
            remainingWithoutLevel = remaining
            remainingJSONWithoutLevel = json
        }
    }

    static func json(_ attributes: [OTLPKeyValue]) -> Result<[UInt8], GoJSON.UnsupportedValue>? {
        guard !attributes.isEmpty else { return nil }
        var out: [UInt8] = []
        do {
            try GoJSON.appendObject(attributes, to: &out)
        } catch {
            return .failure(error)
        }
        return .success(out)
    }
}

/// A scope and its `instrumentation_scope` object, written once per scope (nil when the scope has no name).
struct ScopePart {
    let scope: OTLPInstrumentationScope
    let json: Result<[UInt8], GoJSON.UnsupportedValue>?

    init(_ scope: OTLPInstrumentationScope) {
        self.scope = scope
        guard !scope.name.isEmpty else {
            json = nil
            return
        }
        var out: [UInt8] = Array(#"{"name":"#.utf8)
        GoJSON.appendString(scope.name, to: &out)
        if !scope.version.isEmpty {
            out.append(contentsOf: #","version":"#.utf8)
            GoJSON.appendString(scope.version, to: &out)
        }
        do {
            if !scope.attributes.isEmpty {
                out.append(contentsOf: #","attributes":"#.utf8)
                try GoJSON.appendObject(scope.attributes, to: &out)
            }
        } catch {
            json = .failure(error)
            return
        }
        out.append(UInt8(ascii: "}"))
        json = .success(out)
    }
}
