/// The names of OTLP's `SeverityNumber` values (`SEVERITY_NUMBER_INFO` is 9), as OTLP/JSON may spell them.
public enum OTLPSeverity {
    /// `SEVERITY_NUMBER_UNSPECIFIED` ... `SEVERITY_NUMBER_FATAL4`, indexed by number (0...24).
    public static let names: [String] = {
        var names = ["SEVERITY_NUMBER_UNSPECIFIED"]
        for level in ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"] {
            names.append("SEVERITY_NUMBER_\(level)")
            for step in 2...4 { names.append("SEVERITY_NUMBER_\(level)\(step)") }
        }
        return names
    }()

    /// The enum name of `number`, or nil for a number outside 0...24.
    public static func name(of number: Int32) -> String? {
        number >= 0 && Int(number) < names.count ? names[Int(number)] : nil
    }

    /// The number of an enum name (`SEVERITY_NUMBER_WARN` is 13), or nil when it is not one.
    public static func number(named name: some Collection<UInt8>) -> Int32? {
        for (number, candidate) in names.enumerated() where candidate.utf8.elementsEqual(name) {
            return Int32(number)
        }
        return nil
    }
}
