import GoCompat
import Wire

/// Whether a record is selected by an `include` / `exclude` block, as the collector's `filterlog` decides.
extension OTelColProcessorAttributes.MatchProperties {
    func matches(_ record: OTLPLogRecord, _ resource: OTLPResource, _ scope: OTLPInstrumentationScope) -> Bool {
        if !attributes.isEmpty && !attributes.allSatisfy({ matches($0, in: record.attributes) }) { return false }
        if !resources.isEmpty && !resources.allSatisfy({ matches($0, in: resource.attributes) }) { return false }
        if !libraries.isEmpty && !libraries.contains(where: { matches($0, scope) }) { return false }
        if !logBodies.isEmpty {
            let body = GoJSON.asString(record.body)
            let hit = regexp ? logBodyPatterns.contains { $0.regex.regex.firstMatch(body) } : logBodies.contains(body)
            if !hit { return false }
        }
        if !severityTexts.isEmpty {
            let text = record.severityText
            let hit = regexp ? severityTextPatterns.contains { $0.regex.regex.firstMatch(text) } : severityTexts.contains(text)
            if !hit { return false }
        }
        if let minimum = minimumSeverity {
            if record.severityNumber == 0 {
                if !minimum.matchUndefined { return false }
            } else if record.severityNumber < minimum.number {
                return false
            }
        }
        return true
    }

    private func matches(_ match: OTelColProcessorAttributes.AttributeMatch, in pairs: [OTLPKeyValue]) -> Bool {
        guard let pair = pairs.first(where: { GoString.equal($0.key, match.key) }) else { return false }
        if let pattern = match.pattern {
            guard case .string(let text)? = pair.value else { return false }
            return pattern.regex.regex.firstMatch(text)
        }
        guard let expected = match.value else { return true }
        return pair.value == expected
    }

    private func matches(_ library: OTelColProcessorAttributes.LibraryMatch, _ scope: OTLPInstrumentationScope) -> Bool {
        if let pattern = library.namePattern {
            guard pattern.regex.regex.firstMatch(scope.name) else { return false }
        } else if library.name != scope.name {
            return false
        }
        guard let version = library.version else { return true }
        if let pattern = library.versionPattern { return pattern.regex.regex.firstMatch(scope.version) }
        return version == scope.version
    }
}
