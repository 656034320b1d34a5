/// Loki's URL form of the S3 settings (`storage_config.aws.s3`): `s3://[key:secret@]host/bucket`.
///
/// As in Loki, a host with a dot is an endpoint reached over plain HTTP (an S3-compatible server), and a host
/// without one is an AWS region whose endpoint AWS's naming gives. The access key and secret are
/// percent-decoded.
struct S3URL: Equatable {
    var accessKeyID = ""
    var secretAccessKey = ""
    /// The endpoint (`minio.example:9000`), when the host has a dot.
    var endpoint = ""
    /// The region, when the host has no dot.
    var region = ""
    var bucket = ""

    /// nil when `text` is not of that form.
    init?(_ text: String) {
        guard text.hasPrefix("s3://") else { return nil }
        let rest = text.dropFirst(5)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<slash]
        if let at = authority.lastIndex(of: "@") {
            let user = authority[..<at]
            let colon = user.firstIndex(of: ":") ?? user.endIndex
            guard let key = Self.percentDecoded(user[..<colon]),
                  let secret = Self.percentDecoded(colon == user.endIndex ? "" : user[user.index(after: colon)...])
            else { return nil }
            accessKeyID = key
            secretAccessKey = secret
            authority = authority[authority.index(after: at)...]
        }
        guard !authority.isEmpty, !authority.contains(where: { $0 == "?" || $0 == "#" || $0 == " " }) else {
            return nil
        }
        if authority.contains(".") { endpoint = String(authority) } else { region = String(authority) }
        bucket = slash == rest.endIndex ? "" : String(rest[rest.index(after: slash)...])
        while bucket.hasSuffix("/") { bucket.removeLast() }
        guard !bucket.isEmpty, !bucket.contains("/") else { return nil }
    }

    /// `%XX` sequences as bytes, the result UTF-8; nil for a broken escape or bytes that are not UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The text with whatever stands between the user's `:` and the `@` replaced by `mask`, as Loki's `/config`
    /// shows it; the text unchanged when it holds no secret.
    static func masked(_ text: String, mask: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text.lastIndex(of: "@"), scheme.upperBound <= at,
              let colon = text[scheme.upperBound..<at].firstIndex(of: ":")
        else { return text }
        return String(text[...colon]) + mask + String(text[at...])
    }
}
