import Wire

/// A regex matched against whole values (Prometheus anchors relabel regexes as `^(?:re)$`), with Go's
/// `Regexp.Expand` for templates.
package struct AnchoredRegex: Sendable {
    package let regex: RE2Regex

    package init(_ source: String) throws(RE2Error) {
        regex = try RE2Regex(source, dotMatchesNewline: false)
    }

    /// PromQL's `label_replace` lets `.` match a newline (`^(?s:re)$`).
    package init(_ source: String, dotMatchesNewline: Bool) throws(RE2Error) {
        regex = try RE2Regex(source, dotMatchesNewline: dotMatchesNewline)
    }

    package func matches(_ value: String) -> Bool {
        regex.wholeMatch(value)
    }

    package func groups(_ value: String) -> [Substring?]? {
        regex.wholeMatchGroups(value)
    }

    /// Go's `Regexp.Expand`: `$$` is `$`; `$name` takes the longest run of letters, digits and `_` (so `$1x` is
    /// the group named `1x`, which is empty; write `${1}x`); a number names a group by index, else by name;
    /// an unknown group or a malformed `${` expands to nothing.
    package func expand(_ template: String, groups: [Substring?]) -> String {
        guard template.utf8.contains(UInt8(ascii: "$")) else { return template }
        var out = ""
        var scalars = Substring(template)
        while let dollar = scalars.firstIndex(of: "$") {
            out += scalars[..<dollar]
            var rest = scalars[scalars.index(after: dollar)...]
            if rest.first == "$" {
                out += "$"
                scalars = rest.dropFirst()
                continue
            }
            var name: Substring
            if rest.first == "{" {
                guard let close = rest.firstIndex(of: "}") else {
                    // Not a reference: Go copies the `$` and goes on.
                    out += "$"
                    scalars = rest
                    continue
                }
                name = rest[rest.index(after: rest.startIndex)..<close]
                rest = rest[rest.index(after: close)...]
                guard !name.isEmpty, name.allSatisfy(Self.isNameCharacter) else {
                    out += "$"
                    scalars = scalars[scalars.index(after: dollar)...]
                    continue
                }
            } else {
                let end = rest.firstIndex { !Self.isNameCharacter($0) } ?? rest.endIndex
                name = rest[..<end]
                if name.isEmpty {
                    out += "$"
                    scalars = rest
                    continue
                }
                rest = rest[end...]
            }
            if let number = Int(name) {
                if number < groups.count, let group = groups[number] { out += group }
            } else if let number = regex.groupNumber(named: String(name)), number < groups.count, let group = groups[number] {
                out += group
            }
            scalars = rest
        }
        out += scalars
        return out
    }

    private static func isNameCharacter(_ character: Character) -> Bool {
        character == "_" || (character.isASCII && (character.isLetter || character.isNumber))
    }
}
