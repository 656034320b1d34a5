import AlloyLanguage
import GoCompat
import Wire

/// `stage.template`: renders `template` (Go template syntax, see ``GoTemplate``) with the extracted map as its
/// fields, `.Value` the value of `source` and `.Entry` the log line, and stores the result as `source` in the
/// extracted map (an empty result removes it), as Alloy's template stage does. A template that fails for an
/// entry leaves it as it was and is reported once per batch.
struct TemplateStage: ProcessStage {
    struct Config: Sendable, Equatable {
        var source: String
        var template: GoTemplate

        init(_ reader: ArgumentReader) throws(Diagnostic) {
            source = try reader.requiredString("source")
            let text = try reader.requiredString("template")
            do throws(GoTemplate.TemplateError) {
                template = try GoTemplate(text)
            } catch {
                throw reader.error("template", "template: \(error.description) in \(GoQuote.quote(text))")
            }
        }
    }

    let config: Config

    mutating func process(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        var failure: String?
        for index in entries.indices where !entries[index].removed {
            let entry = entries[index]
            let value = entry.extracted(config.source)
            let fields: (String) -> GoTemplate.Value = { name in
                switch name {
                case "Value": value.map { GoTemplate.Value($0) } ?? .missing
                case "Entry": .string(entry.lineText)
                default: GoTemplate.Value(entry.extracted(name))
                }
            }
            do {
                let rendered = try config.template.render(fields, dot: .missing)
                entries[index].setExtracted(config.source, rendered.isEmpty ? .null : .string(rendered))
            } catch {
                failure = "\(error)"
            }
        }
        if let failure { context.warnings.append("stage.template for \(config.source): \(failure)") }
    }
}

/// `stage.replace`: in the value of `source` (the log line when empty), replaces the text each capture group of
/// `expression` matched, in every match, with `replace` rendered as a template whose `.Value` is the group's text
/// (the extracted map's fields are there too), as Alloy's replace stage does; an expression without groups replaces
/// nothing. The result becomes the line or the `source` value, and each named group of the first match goes into the
/// extracted map with its replacement.
struct ReplaceStage: ProcessStage {
    struct Config: Sendable, Equatable {
        var expression: AnchoredRegex
        var expressionText: String
        var source: String
        var replace: GoTemplate

        init(_ reader: ArgumentReader) throws(Diagnostic) {
            expressionText = try reader.requiredString("expression")
            do throws(RE2Error) {
                expression = try AnchoredRegex(expressionText)
            } catch {
                throw reader.error("expression", "expression: \(error)")
            }
            source = try reader.string("source", default: "")
            let text = try reader.string("replace", default: "")
            do throws(GoTemplate.TemplateError) {
                replace = try GoTemplate(text)
            } catch {
                throw reader.error("replace", "replace: \(error.description) in \(GoQuote.quote(text))")
            }
        }

        static func == (lhs: Config, rhs: Config) -> Bool {
            lhs.expressionText == rhs.expressionText && lhs.source == rhs.source && lhs.replace == rhs.replace
        }
    }

    let config: Config

    mutating func process(_ entries: inout [ProcessEntry], _ context: inout StageContext) {
        var failure: String?
        for index in entries.indices where !entries[index].removed {
            let input: String
            if config.source.isEmpty {
                input = entries[index].lineText
            } else {
                guard let text = entries[index].extractedText(config.source) else { continue }
                input = text
            }
            let matches = config.expression.regex.allMatchRanges(input)
            guard !matches.isEmpty else { continue }
            var out = ""
            var last = input.startIndex
            var replaced: [String: String] = [:]
            let entry = entries[index]
            for ranges in matches {
                for range in ranges.dropFirst() {
                    guard let range, range.lowerBound >= last else { continue }
                    let text = String(input[range])
                    let fields: (String) -> GoTemplate.Value = { name in
                        name == "Value" ? .string(text) : GoTemplate.Value(entry.extracted(name))
                    }
                    do {
                        let rendered = try config.replace.render(fields, dot: .missing)
                        out += input[last..<range.lowerBound]
                        out += rendered
                        last = range.upperBound
                        replaced[text] = rendered
                    } catch {
                        failure = "\(error)"
                    }
                }
            }
            out += input[last...]
            if config.source.isEmpty {
                entries[index].entry.line = Array(out.utf8)
            } else {
                entries[index].setExtracted(config.source, .string(out))
            }
            if let first = matches.first {
                for (number, name) in config.expression.regex.captureNames.enumerated() {
                    guard number > 0, let name, number < first.count, let range = first[number],
                        let value = replaced[String(input[range])]
                    else { continue }
                    entries[index].setExtracted(name, .string(value))
                }
            }
        }
        if let failure { context.warnings.append("stage.replace: \(failure)") }
    }
}

extension GoTemplate.Value {
    /// A template field from the extracted map: `null` and absent keys are missing (`<no value>`).
    init(_ extracted: ExtractedValue?) {
        switch extracted {
        case .string(let text): self = .string(text)
        case .number(let number): self = .number(number)
        case .bool(let flag): self = .bool(flag)
        case .null, nil: self = .missing
        }
    }
}
