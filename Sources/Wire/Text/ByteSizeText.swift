/// Sizes written the way Loki's `flagext.ByteSize` reads and prints them (it upper-cases the text and hands it to
/// `github.com/c2h5oh/datasize`): a whole number of bytes with an optional unit, where every unit is a power of
/// 1024 (`KB` = `KiB` = `K` = 1024), case-insensitive, with optional space before the unit (`256KB`, `1 MiB`,
/// `1048576`). Estuary also accepts a decimal fraction (`1.5MB`), which Loki rejects.
public enum ByteSizeText {
    public enum ParseError: Error, Equatable, Sendable {
        case syntax
        case negative
        case tooLarge
    }

    private static let units: [String: Int] = {
        var table: [String: Int] = [:]
        let names: [(Int, [String])] = [
            (0, ["", "b", "byte", "bytes"]),
            (10, ["k", "kb", "kib", "kilo", "kilobyte", "kilobytes"]),
            (20, ["m", "mb", "mib", "mega", "megabyte", "megabytes"]),
            (30, ["g", "gb", "gib", "giga", "gigabyte", "gigabytes"]),
            (40, ["t", "tb", "tib", "tera", "terabyte", "terabytes"]),
            (50, ["p", "pb", "pib", "peta", "petabyte", "petabytes"]),
            (60, ["e", "eb", "eib", "exa", "exabyte", "exabytes"]),
        ]
        for (shift, spellings) in names {
            for spelling in spellings { table[spelling] = 1 << shift }
        }
        return table
    }()

    public static func parse(_ text: String) -> Result<Int, ParseError> {
        let scalars = Array(text.unicodeScalars)
        var index = 0
        while index < scalars.count, scalars[index].properties.isWhitespace { index += 1 }
        if index < scalars.count, scalars[index] == "-" { return .failure(.negative) }
        if index < scalars.count, scalars[index] == "+" { index += 1 }
        let number = DecimalQuantity(scalars, &index)
        if number.overflow { return .failure(.tooLarge) }
        guard number.wholeDigits > 0, !number.hasPoint || number.fractionDigits > 0 else { return .failure(.syntax) }
        let unit = String(String.UnicodeScalarView(scalars[index...]))
            .configTrimmed().lowercased()
        guard let multiplier = units[unit] else { return .failure(.syntax) }
        guard let total = number.times(Int64(multiplier)) else { return .failure(.tooLarge) }
        return .success(Int(total))
    }

    /// Loki's spelling: the largest unit that divides the value exactly (`0B`, `256KB`, `3MB`, `1000B`).
    public static func format(_ bytes: Int) -> String {
        if bytes == 0 { return "0B" }
        for (unit, shift) in [("EB", 60), ("PB", 50), ("TB", 40), ("GB", 30), ("MB", 20), ("KB", 10)] {
            let size = 1 << shift
            if bytes % size == 0 { return "\(bytes / size)\(unit)" }
        }
        return "\(bytes)B"
    }

}

extension String {
    /// The string without leading and trailing white space (Foundation-free).
    public func configTrimmed() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
