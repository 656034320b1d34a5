import Wire

extension Stage {
    /// Runs the stage on one entry.
    func process(
        timestamp: Int64, line: UnsafeRawBufferPointer, builder: inout LabelsBuilder, state: StageState,
        scratch: inout [UInt8], keyScratch: inout [UInt8], hints: ParserHints
    ) -> StageOutcome {
        switch self {
        case .lineFilters(let chain):
            return chain.matches(line) ? .keep : .drop
        case .labelFilter(let filter):
            return filter.process(&builder) ? .keep : .drop
        case .json:
            if hints.noLabels { return .keep }
            Self.parseJSON(line, &builder, state, &scratch, &keyScratch, hints)
            return .keep
        case .logfmt(let strict, let keepEmpty):
            if hints.noLabels { return .keep }
            Self.parseLogfmt(line, strict: strict, keepEmpty: keepEmpty, &builder, state, &scratch, hints)
            return .keep
        case .jsonExpressions(let expressions):
            if line.isEmpty || hints.noLabels { return .keep }
            Self.parseJSONExpressions(line, expressions, &builder, &scratch)
            return .keep
        case .logfmtExpressions(let strict, let keepEmpty, let expressions):
            if hints.noLabels { return .keep }
            Self.parseLogfmtExpressions(line, strict: strict, keepEmpty: keepEmpty, expressions, &builder, &scratch)
            return .keep
        case .regexp(let regex, let names):
            if hints.noLabels { return .keep }
            guard let offsets = regex.firstMatchOffsets(line) else { return .keep }
            for (group, name) in names {
                let start = offsets[2 * group]
                let end = offsets[2 * group + 1]
                var key = name
                if builder.baseHas(key) { key += LogPipeline.duplicateSuffix }
                guard hints.shouldExtract(key) else { continue }
                let value = start >= 0 ? String(decoding: UnsafeRawBufferPointer(rebasing: line[start..<end]), as: UTF8.self) : ""
                builder.set(.parsed, key, value)
            }
            return .keep
        case .pattern(let matcher):
            if hints.noLabels { return .keep }
            matcher.matches(line) { index, value in
                var key = matcher.names[index]
                if builder.baseHas(key) { key += LogPipeline.duplicateSuffix }
                guard hints.shouldExtract(key) else { return }
                builder.set(.parsed, key, String(decoding: value, as: UTF8.self))
            }
            return .keep
        case .unpack:
            if line.isEmpty { return .keep }
            return Self.unpack(line, &builder, &scratch, &keyScratch, hints)
        case .lineFormat(let template):
            if let field = template.singleField {
                // Loki copies the label's value directly (`Get`, which does not see `__error__`).
                guard let value = builder.get(field) else { return .replace([]) }
                return .replace(Array(value.utf8))
            }
            switch template.render(builder: builder, line: line, timestamp: timestamp) {
            case .success(let text): return .replace(Array(text.utf8))
            case .failure(let failure):
                builder.error = LogPipeline.templateFormatError
                builder.errorDetails = failure.description
                return .keep
            }
        case .labelFormat(let steps):
            // Loki renders every template of one label_format with the labels as they were when the first template
            // ran (its map is filled once).
            var snapshot: [String: String]?
            for (destination, operation) in steps {
                switch operation {
                case .rename(let source):
                    if let value = builder.get(source) {
                        builder.set(.parsed, destination, value)
                        builder.delete(source)
                    }
                case .template(let template):
                    if snapshot == nil {
                        var fields: [String: String] = [:]
                        var pairs: [LabelPair] = []
                        builder.appendLabels(to: &pairs)
                        for pair in pairs { fields[pair.name] = pair.value }
                        snapshot = fields
                    }
                    let fields = snapshot ?? [:]
                    switch template.render(fields: { fields[$0] }, line: line, timestamp: timestamp) {
                    case .success(let text): builder.set(.parsed, destination, text)
                    case .failure(let failure):
                        builder.error = LogPipeline.templateFormatError
                        builder.errorDetails = failure.description
                    }
                }
            }
            return .keep
        case .decolorize:
            return Decolorizer.strip(line).map { .replace($0) } ?? .keep
        case .drop(let selections):
            for selection in selections {
                switch selection {
                case .name(let name):
                    if name == LogPipeline.errorLabel {
                        builder.error = ""
                    } else if name == LogPipeline.errorDetailsLabel {
                        builder.errorDetails = ""
                    } else if builder.get(name) != nil {
                        builder.delete(name)
                    }
                case .matcher(let matcher):
                    if matcher.name == LogPipeline.errorLabel {
                        if matcher.matches(builder.error) { builder.error = "" }
                    } else if matcher.name == LogPipeline.errorDetailsLabel {
                        if matcher.matches(builder.errorDetails) { builder.errorDetails = "" }
                    } else if matcher.matches(builder.get(matcher.name) ?? "") {
                        builder.delete(matcher.name)
                    }
                }
            }
            return .keep
        case .keep(let selections):
            guard !selections.isEmpty else { return .keep }
            var pairs: [LabelPair] = []
            builder.appendLabels(to: &pairs)
            for pair in pairs {
                if pair.name == LogPipeline.errorLabel || pair.name == LogPipeline.errorDetailsLabel
                    || pair.name == "__preserve_error__" { continue }
                var kept = false
                for selection in selections {
                    switch selection {
                    case .name(let name): kept = name == pair.name
                    case .matcher(let matcher): kept = matcher.name == pair.name && matcher.matches(pair.value)
                    }
                    if kept { break }
                }
                if !kept { builder.delete(pair.name) }
            }
            return .keep
        }
    }

    // MARK: json

    /// `| json`: every string, number and boolean field, nested objects flattened with `_`; arrays and nulls
    /// skipped. On malformed JSON: `__error__="JSONParserErr"` with jsonparser's message (fields read before the
    /// error stay).
    static func parseJSON(
        _ line: UnsafeRawBufferPointer, _ builder: inout LabelsBuilder, _ state: StageState, _ scratch: inout [UInt8],
        _ keyScratch: inout [UInt8], _ hints: ParserHints
    ) {
        keyScratch.removeAll(keepingCapacity: true)
        if let failure = parseJSONObject(line, 0..<line.count, &keyScratch, depth: 0, &builder, state, &scratch, hints) {
            builder.error = LogPipeline.jsonParserError
            builder.errorDetails = failure.message
        }
    }

    private static func parseJSONObject(
        _ line: UnsafeRawBufferPointer, _ range: Range<Int>, _ prefix: inout [UInt8], depth: Int,
        _ builder: inout LabelsBuilder, _ state: StageState, _ scratch: inout [UInt8], _ hints: ParserHints
    ) -> JSONFields.Failure? {
        var keyBuffer: [UInt8] = []
        return JSONFields.eachMember(line, range, keyBuffer: &keyBuffer) { key, valueRange, kind in
            switch kind {
            case .string, .number, .boolean:
                let label: String?
                if prefix.isEmpty {
                    label = state.keys?.label(for: key) { raw in
                        var field = LabelKeys.sanitized(raw)
                        if builder.baseHas(field) { field += LogPipeline.duplicateSuffix }
                        return hints.shouldExtract(field) ? field : nil
                    }
                } else {
                    let mark = prefix.count
                    prefix.append(95)
                    LabelKeys.appendSanitized(key, to: &prefix)
                    label = prefix.withUnsafeBytes { path in
                        state.nestedKeys?.label(for: path) { raw in
                            var field = String(decoding: raw, as: UTF8.self)
                            if builder.baseHas(field) { field += LogPipeline.duplicateSuffix }
                            return hints.shouldExtract(field) ? field : nil
                        }
                    }
                    prefix.removeSubrange(mark...)
                }
                if let label {
                    builder.set(.parsed, label, JSONFields.labelValue(line, valueRange, kind, scratch: &scratch))
                }
                return .success(true)
            case .object:
                let mark = prefix.count
                if !prefix.isEmpty { prefix.append(95) }
                LabelKeys.appendSanitized(key, to: &prefix)
                var failure: JSONFields.Failure?
                // Deeper than any real log line: skipped rather than recursed into (untrusted input).
                if depth < 64, prefix.withUnsafeBytes({ hints.shouldExtractPrefix($0) }) {
                    failure = parseJSONObject(line, valueRange, &prefix, depth: depth + 1, &builder, state, &scratch, hints)
                }
                prefix.removeSubrange(mark...)
                if let failure { return .failure(failure) }
                return .success(true)
            case .array, .null:
                return .success(true)
            }
        }
    }

    /// `| json a="b.c[0]"`: each expression's value (objects and arrays as their JSON text), "" when absent. A line
    /// that does not start like JSON gets `__error__="JSONParserErr"`.
    static func parseJSONExpressions(
        _ line: UnsafeRawBufferPointer, _ expressions: [(label: String, path: [JSONPath.Element])],
        _ builder: inout LabelsBuilder, _ scratch: inout [UInt8]
    ) {
        let first = line[0]
        guard first == UInt8(ascii: "\"") || first == UInt8(ascii: "{") || first == UInt8(ascii: "[") else {
            builder.error = LogPipeline.jsonParserError
            return
        }
        for (label, path) in expressions {
            var key = label
            if builder.baseHas(key) { key += LogPipeline.duplicateSuffix }
            if let (range, kind) = JSONPath.find(path, in: line, scratch: &scratch) {
                let value: String
                switch kind {
                case .null: value = ""
                case .object: value = String(decoding: UnsafeRawBufferPointer(rebasing: line[range]), as: UTF8.self)
                default: value = JSONFields.labelValue(line, range, kind, scratch: &scratch)
                }
                builder.set(.parsed, key, value)
            } else if builder.get(label) == nil {
                builder.set(.parsed, label, "")
            }
        }
    }

    // MARK: logfmt

    static func parseLogfmt(
        _ line: UnsafeRawBufferPointer, strict: Bool, keepEmpty: Bool, _ builder: inout LabelsBuilder,
        _ state: StageState, _ scratch: inout [UInt8], _ hints: ParserHints
    ) {
        var decoder = LogfmtDecoder(line)
        // With every needed label set, the rest of the line matters only if it holds one of their keys again (the
        // last value wins): without `--strict` (whose errors the rest could raise) that is checked with a search
        // instead of decoding the rest.
        let stopKeys = strict ? nil : hints.stopKeys
        var found: UInt32 = 0
        while !decoder.atEnd {
            guard decoder.scan(unquoteInto: &scratch) else {
                if strict { break }
                continue
            }
            let label = state.keys?.label(for: decoder.key) { raw in
                var field = LabelKeys.sanitized(raw)
                if field.isEmpty { return nil }
                if builder.baseHas(field) { field += LogPipeline.duplicateSuffix }
                return hints.shouldExtract(field) ? field : nil
            }
            guard let label else { continue }
            let value = decoder.withValue(scratch) { LabelKeys.value($0) }
            if !keepEmpty && value.isEmpty { continue }
            builder.set(.parsed, label, value)
            if let stopKeys {
                found |= decoder.keyIndex(in: stopKeys).map { 1 << UInt32($0) } ?? 0
                if found.nonzeroBitCount == stopKeys.count, !decoder.restMayHold(stopKeys) { break }
            }
        }
        if strict, let error = decoder.error {
            builder.error = LogPipeline.logfmtParserError
            builder.errorDetails = error
        }
    }

    /// `| logfmt a="key"`: Loki sets every requested label to "" first, then fills those found.
    static func parseLogfmtExpressions(
        _ line: UnsafeRawBufferPointer, strict: Bool, keepEmpty: Bool, _ expressions: [(label: String, key: String)],
        _ builder: inout LabelsBuilder, _ scratch: inout [UInt8]
    ) {
        for (label, _) in expressions where !builder.baseHas(label) { builder.set(.parsed, label, "") }
        var decoder = LogfmtDecoder(line)
        while !decoder.atEnd {
            guard decoder.scan(unquoteInto: &scratch) else {
                if strict { break }
                continue
            }
            let key = LabelKeys.sanitized(decoder.key)
            if key.isEmpty { continue }
            for (label, wanted) in expressions where wanted == key {
                var name = label
                if builder.baseHas(name) { name += LogPipeline.duplicateSuffix }
                let value = decoder.withValue(scratch) { LabelKeys.value($0) }
                builder.set(.parsed, name, value)
            }
        }
        if strict, let error = decoder.error {
            builder.error = LogPipeline.logfmtParserError
            builder.errorDetails = error
        }
    }

    // MARK: unpack

    /// `| unpack`: a JSON object's string fields become labels and `_entry` replaces the line (Promtail's `pack`
    /// reversed). Labels are only set when the object has `_entry`.
    static func unpack(
        _ line: UnsafeRawBufferPointer, _ builder: inout LabelsBuilder, _ scratch: inout [UInt8],
        _ keyScratch: inout [UInt8], _ hints: ParserHints
    ) -> StageOutcome {
        guard line[0] == UInt8(ascii: "{") else {
            builder.error = LogPipeline.jsonParserError
            builder.errorDetails = "expecting json object(6), but it is not"
            return .keep
        }
        var entry: [UInt8]?
        var found: [LabelPair] = []
        var keyBuffer: [UInt8] = []
        var badEscape = false
        let failure = JSONFields.eachMember(line, 0..<line.count, keyBuffer: &keyBuffer) { key, range, kind in
            guard kind == .string else { return .success(true) }
            if key.elementsEqual("_entry".utf8) {
                var unescaped: [UInt8] = []
                guard JSONFields.unescape(UnsafeRawBufferPointer(rebasing: line[range]), into: &unescaped) else {
                    badEscape = true
                    return .failure(.malformedEscape)
                }
                entry = unescaped
                return .success(true)
            }
            var field = String(decoding: key, as: UTF8.self)
            if builder.baseHas(field) { field += LogPipeline.duplicateSuffix }
            guard hints.shouldExtract(field) else { return .success(true) }
            found.append(LabelPair(name: LabelKeys.sanitized(field),
                                   value: JSONFields.labelValue(line, range, .string, scratch: &scratch)))
            return .success(true)
        }
        if let failure {
            builder.error = LogPipeline.jsonParserError
            builder.errorDetails = badEscape ? "Encountered an invalid escape sequence in a string" : failure.message
            return .keep
        }
        guard let entry else { return .keep }
        for pair in found { builder.set(.parsed, pair.name, pair.value) }
        return .replace(entry)
    }
}
