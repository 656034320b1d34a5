import Wire

// The old backend, kept as a differential oracle: the tree printed in Swift `Regex` syntax with RE2's meaning.
// Swift's backtracking engine agrees with Go's leftmost-first semantics on small inputs.
extension RE2Node {
    /// The expression in Swift `Regex` syntax with RE2 semantics. `RE2Regex` compiles it with the matching options
    /// RE2 semantics also need.
    var swiftPattern: String {
        var out = ""
        write(into: &out)
        return out
    }

    private func write(into out: inout String) {
        switch self {
        case .empty:
            break
        case .literal(let scalar, let foldCase):
            if foldCase && scalar.properties.changesWhenCaseMapped {
                out += "(?i:"
                Self.writeScalar(scalar, into: &out)
                out += ")"
            } else {
                Self.writeScalar(scalar, into: &out)
            }
        case .anyCharacter(let newline):
            out += newline ? "(?s:.)" : "[^\\n]"
        case .characterClass(let set, let foldCase):
            if foldCase { out += "(?i:" }
            Self.writeClass(set, into: &out)
            if foldCase { out += ")" }
        case .beginText: out += "\\A"
        case .endText: out += "\\z"
        case .beginLine: out += "(?m:^)"
        case .endLine: out += "(?m:$)"
        case .wordBoundary: out += "\\b"
        case .notWordBoundary: out += "\\B"
        case .group(let inner):
            out += "(?:"
            inner.write(into: &out)
            out += ")"
        case .capture(let inner, _, _):
            // Unnamed in Swift syntax: Swift numbers them in the same order, and the names are kept apart.
            out += "("
            inner.write(into: &out)
            out += ")"
        case .concatenation(let items):
            for item in items { item.write(into: &out) }
        case .alternation(let branches):
            out += "(?:"
            for (offset, branch) in branches.enumerated() {
                if offset > 0 { out += "|" }
                branch.write(into: &out)
            }
            out += ")"
        case .repetition(let operand, let min, let max, let greedy):
            out += "(?:"
            operand.write(into: &out)
            out += ")"
            switch (min, max) {
            case (0, nil): out += "*"
            case (1, nil): out += "+"
            case (0, 1?): out += "?"
            case (let low, nil): out += "{\(low),}"
            case (let low, let high?): out += low == high ? "{\(low)}" : "{\(low),\(high)}"
            }
            if !greedy { out += "?" }
        }
    }

    private static func writeScalar(_ scalar: Unicode.Scalar, into out: inout String) {
        if scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)) {
            out.unicodeScalars.append(scalar)
        } else {
            out += "\\x{" + String(scalar.value, radix: 16) + "}"
        }
    }

    private static func writeClass(_ set: RE2CharClass, into out: inout String) {
        if set.ranges.isEmpty && set.properties.isEmpty {
            // Matches nothing (or, negated, everything).
            out += set.negated ? "(?s:.)" : "[^\\x{0}-\\x{10ffff}]"
            return
        }
        out += set.negated ? "[^" : "["
        for range in set.ranges {
            // Surrogate code points are not scalars: trim them off the ends of a range.
            let low = (0xD800...0xDFFF).contains(range.lowerBound) ? 0xE000 : range.lowerBound
            let high = (0xD800...0xDFFF).contains(range.upperBound) ? 0xD7FF : range.upperBound
            guard low <= high else { continue }
            out += "\\x{" + String(low, radix: 16) + "}"
            if high != low { out += "-\\x{" + String(high, radix: 16) + "}" }
        }
        for property in set.properties { out += property }
        out += "]"
    }
}

/// The old `RE2Regex` backend: the pattern compiled to a Swift `Regex` with the options RE2 semantics need.
func swiftOracle(_ tree: RE2Node) throws -> Regex<AnyRegexOutput> {
    try Regex(tree.swiftPattern)
        .matchingSemantics(.unicodeScalar)
        .wordBoundaryKind(.simple)
        .asciiOnlyWordCharacters()
}
