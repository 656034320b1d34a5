import Synchronization

/// A Unicode property escape of a character class (`\p{L}`, `\P{Greek}`), evaluated on a scalar value.
///
/// General categories use `Unicode.Scalar.Properties.generalCategory`, with Go's groupings (`C` is Cc, Cf, Co and
/// Cs, not unassigned code points). Swift's standard library does not expose scripts, so a script's ranges are read
/// once per process from the Unicode data the Swift `Regex` library carries (one pass of `\p{Script=Name}` over
/// every assigned scalar) and cached; only that table lookup ever uses `Regex`.
struct RE2UnicodeProperty: Sendable {
    private enum Kind: Sendable {
        case categories(Set<Unicode.GeneralCategory>)
        /// Sorted, non-overlapping inclusive ranges, flattened as low, high pairs.
        case ranges([UInt32])
    }

    private let kind: Kind
    let negated: Bool

    /// Parses the escape as `RE2Parser` writes it: `\p{Name}` or `\P{Name}`, where Name is a general category or
    /// `Script=Name`. Nil when the name is not a known category or script.
    init?(escape: String) {
        let negated = escape.hasPrefix("\\P")
        guard escape.count > 4, escape.hasSuffix("}") else { return nil }
        let name = String(escape.dropFirst(3).dropLast())
        if let categories = Self.categories[name] {
            kind = .categories(categories)
        } else if name.hasPrefix("Script="), let ranges = Self.scriptRanges(String(name.dropFirst(7))) {
            kind = .ranges(ranges)
        } else {
            return nil
        }
        self.negated = negated
    }

    func contains(_ value: UInt32) -> Bool {
        let hit: Bool
        switch kind {
        case .categories(let categories):
            if let scalar = Unicode.Scalar(value) {
                hit = categories.contains(scalar.properties.generalCategory)
            } else {
                hit = categories.contains(.surrogate)
            }
        case .ranges(let ranges):
            hit = RE2RuneSet.rangesContain(ranges, value)
        }
        return hit != negated
    }

    // MARK: Tables

    private static let categories: [String: Set<Unicode.GeneralCategory>] = {
        let single: [String: Unicode.GeneralCategory] = [
            "Cc": .control, "Cf": .format, "Co": .privateUse, "Cs": .surrogate,
            "Ll": .lowercaseLetter, "Lm": .modifierLetter, "Lo": .otherLetter, "Lt": .titlecaseLetter,
            "Lu": .uppercaseLetter,
            "Mc": .spacingMark, "Me": .enclosingMark, "Mn": .nonspacingMark,
            "Nd": .decimalNumber, "Nl": .letterNumber, "No": .otherNumber,
            "Pc": .connectorPunctuation, "Pd": .dashPunctuation, "Pe": .closePunctuation, "Pf": .finalPunctuation,
            "Pi": .initialPunctuation, "Po": .otherPunctuation, "Ps": .openPunctuation,
            "Sc": .currencySymbol, "Sk": .modifierSymbol, "Sm": .mathSymbol, "So": .otherSymbol,
            "Zl": .lineSeparator, "Zp": .paragraphSeparator, "Zs": .spaceSeparator,
        ]
        var table = single.mapValues { Set([$0]) }
        for group in ["C", "L", "M", "N", "P", "S", "Z"] {
            table[group] = Set(single.filter { $0.key.hasPrefix(group) }.values)
        }
        return table
    }()

    private static let scriptCache = Mutex<[String: [UInt32]?]>([:])

    /// The ranges of a script, or nil when the Unicode data knows no script of that name.
    private static func scriptRanges(_ name: String) -> [UInt32]? {
        if let cached = scriptCache.withLock({ $0[name] }) { return cached }
        let ranges = loadScript(name)
        scriptCache.withLock { $0[name] = ranges }
        return ranges
    }

    /// Every assigned scalar (no unassigned, private-use or surrogate code points) in one string, built once.
    private static let assignedScalars: String = {
        var view = String.UnicodeScalarView()
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            switch scalar.properties.generalCategory {
            case .unassigned, .privateUse, .surrogate: continue
            default: view.append(scalar)
            }
        }
        return String(view)
    }()

    private static func loadScript(_ name: String) -> [UInt32]? {
        // Go's script names are letters and underscores; the parser has already checked that.
        guard let regex = try? Regex("\\p{Script=\(name)}").matchingSemantics(.unicodeScalar) else { return nil }
        let text = assignedScalars
        var ranges: [UInt32] = []
        for match in text.matches(of: regex) {
            let value = text.unicodeScalars[match.range.lowerBound].value
            if let last = ranges.last, last &+ 1 == value {
                ranges[ranges.count - 1] = value
            } else {
                ranges.append(value)
                ranges.append(value)
            }
        }
        return ranges
    }
}
