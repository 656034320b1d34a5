import Wire

/// An endpoint's `url`, checked and split the way the sender uses it: the URL to request (credentials and
/// fragment removed), the `host` of its metrics, and the credentials written in it (`http://user:pass@host`),
/// which are sent as basic auth as Go's HTTP client does.
struct HTTPEndpointURL: Sendable, Hashable {
    /// `http` or `https`, lower-cased.
    var scheme: String
    /// `host` or `host:port` as written (IPv6 literals keep their brackets): Go's `URL.Host`.
    var host: String
    /// What is requested: scheme, host and path with query, without user info or fragment.
    var requestURL: String
    /// Credentials from the URL's user info, percent-decoded.
    var username: String?
    var password: String?

    /// Why a URL was refused; the text completes "invalid URL "…": ".
    struct Problem: Error, Sendable, CustomStringConvertible {
        var description: String
    }

    /// Parses an absolute `http://` or `https://` URL. Never traps, whatever the input.
    static func parse(_ text: String) -> Result<HTTPEndpointURL, Problem> {
        let bytes = Array(text.utf8)
        if bytes.isEmpty { return .failure(Problem(description: "the URL is empty")) }
        for (offset, byte) in bytes.enumerated() where byte <= 0x20 || byte == 0x7F {
            return .failure(Problem(description: "it contains a space or control character at byte \(offset)"))
        }
        guard let schemeEnd = find(Array("://".utf8), in: bytes) else {
            return .failure(Problem(description: "it has no scheme; write it as http://host:port/path"))
        }
        let scheme = String(decoding: bytes[0..<schemeEnd], as: UTF8.self).lowercased()
        guard scheme == "http" || scheme == "https" else {
            return .failure(Problem(description: "the scheme must be http or https, got \(GoQuote.quote(scheme))"))
        }
        let authorityStart = schemeEnd + 3
        var authorityEnd = authorityStart
        while authorityEnd < bytes.count, !"/?#".utf8.contains(bytes[authorityEnd]) { authorityEnd += 1 }
        var hostStart = authorityStart
        var username: String?
        var password: String?
        if let at = bytes[authorityStart..<authorityEnd].lastIndex(of: UInt8(ascii: "@")) {
            let info = bytes[authorityStart..<at]
            let colon = info.firstIndex(of: UInt8(ascii: ":"))
            guard let user = percentDecode(info[info.startIndex..<(colon ?? info.endIndex)]) else {
                return .failure(Problem(description: "the user name has an invalid % escape"))
            }
            username = user
            if let colon {
                guard let secret = percentDecode(info[(colon + 1)...]) else {
                    return .failure(Problem(description: "the password has an invalid % escape"))
                }
                password = secret
            }
            hostStart = at + 1
        }
        let hostBytes = bytes[hostStart..<authorityEnd]
        if let problem = checkHost(hostBytes) { return .failure(problem) }
        let host = String(decoding: hostBytes, as: UTF8.self)
        var rest = bytes[authorityEnd...]
        if let hash = rest.firstIndex(of: UInt8(ascii: "#")) { rest = rest[..<hash] }
        let path = String(decoding: rest, as: UTF8.self)
        return .success(HTTPEndpointURL(
            scheme: scheme, host: host, requestURL: "\(scheme)://\(host)\(path)", username: username,
            password: password))
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }

    /// `host`, `host:port`, `[v6]` or `[v6]:port`.
    private static func checkHost(_ bytes: ArraySlice<UInt8>) -> Problem? {
        if bytes.isEmpty { return Problem(description: "it has no host") }
        var portStart: Int?
        if bytes.first == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else {
                return Problem(description: "the IPv6 address has no closing ]")
            }
            let literal = bytes[(bytes.startIndex + 1)..<close]
            let allowed = literal.allSatisfy { isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }
            if literal.isEmpty || !allowed {
                return Problem(description: "the IPv6 address between [ and ] is not valid")
            }
            if close + 1 < bytes.endIndex {
                guard bytes[close + 1] == UInt8(ascii: ":") else {
                    return Problem(description: "unexpected text after the IPv6 address; expected :port")
                }
                portStart = close + 2
            }
        } else {
            let colon = bytes.firstIndex(of: UInt8(ascii: ":"))
            let name = bytes[bytes.startIndex..<(colon ?? bytes.endIndex)]
            if name.isEmpty { return Problem(description: "it has no host") }
            for byte in name where !isHostByte(byte) {
                return Problem(description: "the host contains \(GoQuote.quote(String(decoding: [byte], as: UTF8.self)))")
            }
            if let colon { portStart = colon + 1 }
        }
        if let portStart {
            let digits = bytes[portStart...]
            var port = 0
            for byte in digits {
                guard byte >= 0x30, byte <= 0x39, port <= 65535 else { port = -1; break }
                port = port * 10 + Int(byte - 0x30)
            }
            if digits.isEmpty || port < 1 || port > 65535 {
                return Problem(
                    description: "the port must be a number from 1 to 65535, got \(GoQuote.quote(String(decoding: digits, as: UTF8.self)))")
            }
        }
        return nil
    }

    /// Letters, digits and what RFC 3986 allows in a registered name.
    private static func isHostByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || "-._~%!$&'()*+,;=".utf8.contains(byte)
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        hexValue(byte) != nil
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }

    private static func percentDecode(_ bytes: ArraySlice<UInt8>) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex, let high = hexValue(bytes[index + 1]),
                    let low = hexValue(bytes[index + 2])
                else { return nil }
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(byte)
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
