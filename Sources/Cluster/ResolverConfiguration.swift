import NIOCore

/// Where and how ``DNSResolver`` asks: the nameservers, the search list and the limits of `/etc/resolv.conf`.
///
/// Defaults are glibc's (`resolv.conf(5)`): nameserver 127.0.0.1 when none is listed, at most 3 nameservers,
/// `ndots:1`, `timeout:5` seconds, `attempts:2`; `timeout` is capped at 30 s, `attempts` at 5 and `ndots` at 15.
public struct ResolverConfiguration: Sendable, Equatable {
    /// Nameserver addresses (IPv4 or IPv6, usually port 53), asked in order.
    public var nameservers: [SocketAddress]
    /// Domains appended to a relative name, in order (`search`, or `domain`, whichever comes last).
    public var searchDomains: [String]
    /// A name with at least this many dots is first tried as it is, before the search domains.
    public var ndots: Int
    /// How long one query to one nameserver waits for its answer (the TCP retry of a truncated answer included).
    public var timeout: Duration
    /// How many rounds through the nameservers a query makes before it fails.
    public var attempts: Int

    public static let defaultNameserverPort = 53

    public init(nameservers: [SocketAddress], searchDomains: [String] = [], ndots: Int = 1,
                timeout: Duration = .seconds(5), attempts: Int = 2) {
        self.nameservers = nameservers
        self.searchDomains = searchDomains
        self.ndots = ndots
        self.timeout = timeout
        self.attempts = attempts
    }

    /// Reads `resolv.conf` text: `nameserver`, `search`, `domain` and `options ndots:N timeout:N attempts:N`;
    /// other lines, comments (`#`, `;`) and nameservers that are not IP addresses are ignored, as glibc does
    /// (so is an IPv6 nameserver with a zone, `fe80::1%eth0`, which this resolver cannot address).
    ///
    /// - Parameter localDomain: the search domain when the file names none (glibc takes the host name's domain).
    public init(resolvConf text: String, localDomain: String? = nil) {
        var nameservers: [SocketAddress] = []
        var search: [String]?
        var ndots = 1
        var timeoutSeconds = 5
        var attempts = 2
        for line in text.split(whereSeparator: \.isNewline) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let keyword = words.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";") else { continue }
            let arguments = words.dropFirst().prefix { !$0.hasPrefix("#") && !$0.hasPrefix(";") }.map(String.init)
            switch keyword {
            case "nameserver":
                guard nameservers.count < 3, let text = arguments.first,
                      let address = try? SocketAddress(ipAddress: text, port: Self.defaultNameserverPort)
                else { continue }
                nameservers.append(address)
            case "search":
                search = arguments.map { $0.hasSuffix(".") ? String($0.dropLast()) : $0 }.filter { !$0.isEmpty }
            case "domain":
                search = arguments.first.map { [$0.hasSuffix(".") ? String($0.dropLast()) : $0] } ?? []
            case "options":
                for option in arguments {
                    let parts = option.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2, let value = Int(parts[1]), value >= 0 else { continue }
                    switch parts[0] {
                    case "ndots": ndots = min(value, 15)
                    case "timeout": timeoutSeconds = min(max(value, 1), 30)
                    case "attempts": attempts = min(max(value, 1), 5)
                    default: break
                    }
                }
            default:
                continue
            }
        }
        if nameservers.isEmpty, let loopback = try? SocketAddress(ipAddress: "127.0.0.1", port: 53) {
            nameservers = [loopback]
        }
        self.init(nameservers: nameservers, searchDomains: search ?? localDomain.map { [$0] } ?? [], ndots: ndots,
                  timeout: .seconds(timeoutSeconds), attempts: attempts)
    }

    /// The names a lookup of `name` tries, in order (glibc's `res_search`): an absolute name (trailing dot) only as
    /// it is; a name with at least `ndots` dots as it is, then with each search domain; any other name with each
    /// search domain, then as it is. Returned without trailing dots.
    public func candidates(for name: String) -> [String] {
        if name.hasSuffix(".") { return [String(name.dropLast())] }
        let dots = name.utf8.count(where: { $0 == UInt8(ascii: ".") })
        let searched = searchDomains.map { "\(name).\($0)" }
        return dots >= ndots ? [name] + searched : searched + [name]
    }
}
