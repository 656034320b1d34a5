import Logging
import Wire

/// Turns join addresses (Alloy's `--cluster.join-addresses`, Loki's memberlist `join_members`) into `host:port`
/// strings to contact, with a DNS lookup on every call so that members follow the records as they change.
///
/// Each entry is one of:
///
/// | entry | contacts |
/// |---|---|
/// | `10.0.0.7:7946`, `10.0.0.7`, `[fd00::7]:7946`, `[fd00::7]`, `fd00::7` | that address |
/// | `host:port`, `host` | every A and AAAA address of `host`, with the port |
/// | `dns+host:port`, `dns+host` | the same (Loki's and Thanos' spelling) |
/// | `dnssrv+_svc._tcp.name`, `dnssrv+name` | every address of every SRV target, with the target's SRV port |
///
/// A missing port is `defaultPort`. IPv6 addresses come back as `[addr]:port`. The result keeps the entries'
/// order and has no duplicates. An entry that cannot be resolved is logged (warning) and skipped: the others are
/// still returned, so one missing name does not keep a node from joining the rest.
public struct DNSJoinResolver: JoinAddressResolver {
    public let defaultPort: Int
    public let resolver: DNSResolver
    private let logger: Logger

    /// - Parameters:
    ///   - defaultPort: the port of entries without one (the agent's HTTP port, memberlist's `bind_port`).
    ///   - resolver: asks DNS; ``DNSResolver/system(resolvConfPath:eventLoopGroup:)`` in production.
    public init(defaultPort: Int, resolver: DNSResolver,
                logger: Logger = Logger(label: "estuary.cluster.join-addresses")) {
        self.defaultPort = defaultPort
        self.resolver = resolver
        self.logger = logger
    }

    /// Checks the syntax of every entry, for an error at start-up: an empty entry, a bad or missing port after
    /// `:`, `dnssrv+` with a port, an unknown `prefix+`, a host that is neither an IP address nor a DNS name.
    /// Does not look anything up. The error names the entry.
    public func validate(_ joinAddresses: [String]) throws(JoinAddressError) {
        for entry in joinAddresses {
            _ = try JoinAddress(parsing: entry, defaultPort: defaultPort)
        }
    }

    /// The addresses to contact now. Each call looks the names up again; concurrent lookups, one per entry.
    public func resolve(_ joinAddresses: [String]) async -> [String] {
        let results = await withTaskGroup(of: (Int, [String]).self) { group in
            for (index, entry) in joinAddresses.enumerated() {
                group.addTask { (index, await resolve(entry: entry)) }
            }
            var results = [[String]](repeating: [], count: joinAddresses.count)
            for await (index, addresses) in group { results[index] = addresses }
            return results
        }
        var seen = Set<String>()
        return results.joined().filter { seen.insert($0).inserted }
    }

    private func resolve(entry: String) async -> [String] {
        let address: JoinAddress
        do {
            address = try JoinAddress(parsing: entry, defaultPort: defaultPort)
        } catch {
            logger.warning("join address skipped", metadata: ["entry": "\(entry)", "error": "\(error)"])
            return []
        }
        do throws(DNSResolverError) {
            switch address {
            case .literal(let host, let port):
                return [Self.hostPort(host, port)]
            case .name(let host, let port):
                return try await resolver.lookupAddresses(host: host).map { Self.hostPort($0, port) }
            case .service(let name):
                return await addresses(of: try await resolver.lookupService(name: name), entry: entry)
            }
        } catch {
            logger.warning("join address could not be resolved; skipped this time",
                           metadata: ["entry": "\(entry)", "error": "\(error)"])
            return []
        }
    }

    /// The addresses of SRV targets, each with its port, in the targets' order. Targets without addresses in the
    /// answer are looked up concurrently; one that fails is logged and left out, the others kept.
    private func addresses(of targets: [ServiceTarget], entry: String) async -> [String] {
        let found = await withTaskGroup(of: (Int, [String]).self) { group in
            for (index, target) in targets.enumerated() {
                if !target.addresses.isEmpty {
                    group.addTask { (index, target.addresses) }
                    continue
                }
                group.addTask {
                    do throws(DNSResolverError) {
                        // Targets are absolute names: the trailing dot keeps the search domains off them.
                        return (index, try await resolver.lookupAddresses(host: target.target + "."))
                    } catch {
                        logger.warning("SRV target of a join address could not be resolved; skipped this time",
                                       metadata: ["entry": "\(entry)", "target": "\(target.target)", "error": "\(error)"])
                        return (index, [])
                    }
                }
            }
            var found = [[String]](repeating: [], count: targets.count)
            for await (index, addresses) in group { found[index] = addresses }
            return found
        }
        return zip(targets, found).flatMap { target, hosts in hosts.map { Self.hostPort($0, target.port) } }
    }

    /// `host:port`, with brackets around an IPv6 address.
    static func hostPort(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

/// One parsed join address entry.
enum JoinAddress: Equatable {
    /// An IP address, contacted as it is (canonical text, no brackets).
    case literal(String, port: Int)
    /// A DNS name whose A and AAAA addresses are contacted.
    case name(String, port: Int)
    /// A DNS name whose SRV records give the targets and ports.
    case service(String)

    init(parsing entry: String, defaultPort: Int) throws(JoinAddressError) {
        let text = entry.trimmingSpaces
        guard !text.isEmpty else { throw JoinAddressError(entry: entry, reason: "the entry is empty") }
        if text.hasPrefix("dnssrv+") {
            let name = String(text.dropFirst("dnssrv+".count))
            guard !name.contains(":") else {
                throw JoinAddressError(entry: entry, reason: "dnssrv+ takes a name without a port: the SRV records give it")
            }
            try Self.checkName(name, entry: entry)
            self = .service(name)
            return
        }
        var rest = Substring(text)
        if rest.hasPrefix("dns+") {
            rest = rest.dropFirst("dns+".count)
        } else if let plus = rest.firstIndex(of: "+"), !rest[..<plus].contains(":") {
            throw JoinAddressError(entry: entry, reason: "unknown prefix \"\(rest[...plus])\" (known: dns+, dnssrv+)")
        }
        let host: Substring
        var port = defaultPort
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw JoinAddressError(entry: entry, reason: "no ] closes the IPv6 address")
            }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else {
                    throw JoinAddressError(entry: entry, reason: "expected :port after ], found \"\(after)\"")
                }
                port = try Self.port(after.dropFirst(), entry: entry)
            }
            guard let literal = DNSResolver.canonicalLiteral(String(host)), literal.contains(":") else {
                throw JoinAddressError(entry: entry, reason: "\"\(host)\" in brackets is not an IPv6 address")
            }
            self = .literal(literal, port: port)
            return
        }
        let colons = rest.count(where: { $0 == ":" })
        if colons > 1 {
            // A bare IPv6 address, without brackets and so without a port.
            guard let literal = DNSResolver.canonicalLiteral(String(rest)) else {
                throw JoinAddressError(entry: entry, reason: "more than one : outside brackets; write an IPv6 "
                    + "address as [addr]:port")
            }
            self = .literal(literal, port: port)
            return
        }
        if let colon = rest.firstIndex(of: ":") {
            host = rest[..<colon]
            port = try Self.port(rest[rest.index(after: colon)...], entry: entry)
        } else {
            host = rest
        }
        guard !host.isEmpty else { throw JoinAddressError(entry: entry, reason: "the host is empty") }
        if let literal = DNSResolver.canonicalLiteral(String(host)) {
            self = .literal(literal, port: port)
            return
        }
        try Self.checkName(String(host), entry: entry)
        self = .name(String(host), port: port)
    }

    private static func port(_ text: Substring, entry: String) throws(JoinAddressError) -> Int {
        guard text.allSatisfy({ ("0"..."9").contains($0) }), let port = Int(text), (1...65_535).contains(port) else {
            throw JoinAddressError(entry: entry, reason: "port \"\(text)\" is not a number from 1 to 65535")
        }
        return port
    }

    /// Host names: letters, digits, `-` and `_` (SRV owner names use it), dot-separated labels of 1...63
    /// bytes, 253 characters at most (a trailing dot allowed).
    private static func checkName(_ name: String, entry: String) throws(JoinAddressError) {
        guard !name.isEmpty else { throw JoinAddressError(entry: entry, reason: "the name is empty") }
        if let bad = name.unicodeScalars.first(where: {
            !($0.properties.isASCIIHexDigit || ("g"..."z").contains($0) || ("G"..."Z").contains($0)
              || $0 == "-" || $0 == "_" || $0 == ".")
        }) {
            throw JoinAddressError(entry: entry, reason: "\"\(name)\" is not a host name: it contains \"\(bad)\"")
        }
        do {
            try DNSName.validate(name)
        } catch {
            throw JoinAddressError(entry: entry, reason: error.reason)
        }
    }
}

/// A join address entry that cannot be used, and why.
public struct JoinAddressError: Error, Sendable, Equatable, CustomStringConvertible {
    public let entry: String
    public let reason: String

    public var description: String { "join address \"\(entry)\": \(reason)" }
}

extension String {
    fileprivate var trimmingSpaces: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
