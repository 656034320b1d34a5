#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import Wire

/// A stub resolver: asks the nameservers of a ``ResolverConfiguration`` (usually `/etc/resolv.conf`) for A, AAAA
/// and SRV records, over UDP, and over TCP when an answer is truncated. Nothing is cached: every lookup asks again,
/// so cluster join addresses follow a headless Service as its pods come and go.
///
/// Each candidate name (see ``ResolverConfiguration/candidates(for:)``) is asked of each nameserver in turn for
/// `attempts` rounds, each exchange waiting at most `timeout`; an answer with a name error (NXDOMAIN) or without
/// records moves on to the next candidate, as glibc does. So a lookup takes at most
/// candidates × attempts × nameservers × timeout, and ends early when its task is cancelled.
///
/// Safe to share between tasks; lookups run concurrently.
public struct DNSResolver: Sendable {
    public let configuration: ResolverConfiguration
    private let transport: DNSTransport

    /// A resolver asking the nameservers of `configuration` (tests pass their own server's address).
    public init(configuration: ResolverConfiguration,
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.transport = DNSTransport(group: eventLoopGroup)
    }

    /// A resolver configured by the resolv.conf at `resolvConfPath`, read once now; a missing or unreadable file gives
    /// glibc's defaults (nameserver 127.0.0.1). Without a `search` or `domain` line, the host name's domain is the
    /// search domain, as in glibc.
    public static func system(resolvConfPath: String = "/etc/resolv.conf",
                              eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) -> DNSResolver {
        let text = readSmallFile(resolvConfPath) ?? ""
        return DNSResolver(configuration: ResolverConfiguration(resolvConf: text, localDomain: hostDomain()),
                           eventLoopGroup: eventLoopGroup)
    }

    /// The IPv4 and IPv6 addresses of `host` as text ("10.0.0.7", "fd00::7"): its A records, then its AAAA
    /// records, CNAMEs followed, duplicates removed.
    ///
    /// An IP literal is returned as it is (in canonical form) and `localhost` (or a name under `.localhost`) is
    /// 127.0.0.1, without a query. Only 127.0.0.1: an agent listening on the IPv4 wildcard is not reachable at
    /// ::1, and a join address that never answers only slows the join.
    ///
    /// - Throws: ``DNSResolverError``: `invalidName` for a name DNS cannot carry, `notFound` when every
    ///   candidate name is NXDOMAIN or has no address, `failed` when a nameserver could not be asked or answered
    ///   with an error.
    public func lookupAddresses(host: String) async throws(DNSResolverError) -> [String] {
        if let literal = Self.canonicalLiteral(host) { return [literal] }
        let name = DNSName.canonical(host)
        if name == "localhost" || name.hasSuffix(".localhost") { return ["127.0.0.1"] }
        return try await lookup(host) { candidate async throws(DNSResolverError) -> [String]? in
            async let ipv4 = query(candidate, type: .a)
            async let ipv6 = query(candidate, type: .aaaa)
            let (v4, v6) = await (ipv4, ipv6)
            var addresses: [String] = []
            for case .success(let message?) in [v4, v6] {
                for record in message.answers(for: candidate, type: .a) + message.answers(for: candidate, type: .aaaa) {
                    if let text = Self.text(of: record.data), !addresses.contains(text) { addresses.append(text) }
                }
            }
            if !addresses.isEmpty { return addresses }
            if case .failure(let error) = v4 { throw error }
            if case .failure(let error) = v6 { throw error }
            return nil
        }
    }

    /// The SRV records of `name` (such as `_grpc._tcp.loki-gossip.loki.svc.cluster.local`), CNAMEs followed, by
    /// priority (lowest first), then weight (heaviest first), then target and port. A record with the target "."
    /// (RFC 2782: the service is decidedly not available) is left out.
    ///
    /// Each target carries the addresses the answer's additional section gave for it, if any, so that a caller
    /// need not look it up again.
    ///
    /// - Throws: ``DNSResolverError`` as ``lookupAddresses(host:)`` does.
    public func lookupService(name: String) async throws(DNSResolverError) -> [ServiceTarget] {
        try await lookup(name) { candidate async throws(DNSResolverError) -> [ServiceTarget]? in
            guard let message = try await query(candidate, type: .srv).get() else { return nil }
            var targets: [ServiceTarget] = []
            for record in message.answers(for: candidate, type: .srv) {
                guard case .srv(let service) = record.data, !service.target.isEmpty else { continue }
                let target = DNSName.canonical(service.target)
                var addresses: [String] = []
                for extra in message.additionals where DNSName.canonical(extra.name) == target {
                    if let text = Self.text(of: extra.data), !addresses.contains(text) { addresses.append(text) }
                }
                targets.append(ServiceTarget(target: target, port: Int(service.port), priority: Int(service.priority),
                                             weight: Int(service.weight), addresses: addresses))
            }
            guard !targets.isEmpty else { return nil }
            return targets.sorted {
                ($0.priority, -$0.weight, $0.target, $0.port) < ($1.priority, -$1.weight, $1.target, $1.port)
            }
        }
    }

    /// Tries the candidate names of `name` in order until `attempt` returns records; remembers why the others
    /// failed.
    private func lookup<Found>(
        _ name: String, _ attempt: (String) async throws(DNSResolverError) -> Found?
    ) async throws(DNSResolverError) -> Found {
        do {
            try DNSName.validate(name)
        } catch {
            throw .invalidName(name, reason: error.reason)
        }
        let candidates = configuration.candidates(for: name)
        var failure: DNSResolverError?
        for candidate in candidates {
            if Task.isCancelled { throw .failed(name, reason: "the lookup was cancelled") }
            do throws(DNSResolverError) {
                if let found = try await attempt(candidate) { return found }
            } catch {
                failure = error
            }
        }
        throw failure ?? .notFound(name, tried: candidates)
    }

    /// Asks for `name`/`type` until a nameserver answers: the answer (nil when it is NXDOMAIN), or why none did.
    ///
    /// Queries carry EDNS(0) for answers up to 1232 bytes over UDP; a nameserver that answers FORMERR to that is
    /// asked again at once with a plain RFC 1035 query (as resolvers do for servers predating EDNS).
    private func query(_ name: String, type: DNSRecordType) async -> Result<DNSMessage?, DNSResolverError> {
        if configuration.nameservers.isEmpty {
            return .failure(.failed(name, reason: "no nameserver is configured"))
        }
        var lastProblem = ""
        for _ in 0..<max(1, configuration.attempts) {
            for address in configuration.nameservers {
                if Task.isCancelled { return .failure(.failed(name, reason: "the lookup was cancelled")) }
                var outcome = await ask(address, name, type, ednsPayloadSize: 1232)
                if case .answered(let answer) = outcome, answer.header.responseCode == .formatError {
                    outcome = await ask(address, name, type, ednsPayloadSize: nil)
                }
                switch outcome {
                case .invalid(let reason):
                    return .failure(.invalidName(name, reason: reason))
                case .problem(let problem):
                    lastProblem = problem
                case .answered(let answer):
                    switch answer.header.responseCode {
                    case .noError: return .success(answer)
                    case .nameError: return .success(nil)
                    default:
                        lastProblem = "\(address.hostPort) answered \(type) \(name) with \(answer.header.responseCode)"
                    }
                }
            }
        }
        return .failure(.failed(name, reason: lastProblem))
    }

    private enum Outcome {
        case answered(DNSMessage)
        /// Why this nameserver gave no usable answer this time.
        case problem(String)
        /// The name cannot be put in a query.
        case invalid(String)
    }

    /// One exchange with one nameserver, bounded by the configured timeout.
    private func ask(_ address: SocketAddress, _ name: String, _ type: DNSRecordType,
                     ednsPayloadSize: UInt16?) async -> Outcome {
        let id = UInt16.random(in: .min ... .max)
        let query: [UInt8]
        do {
            query = try DNSMessage.query(name: name, type: type, id: id, ednsPayloadSize: ednsPayloadSize).encode()
        } catch {
            return .invalid(error.reason)
        }
        let deadline = NIODeadline.now() + TimeAmount(configuration.timeout)
        let server = address.hostPort
        let answer: DNSMessage
        do throws(DNSTransport.Failure) {
            answer = try await transport.exchange(query, id: id, with: address, deadline: deadline)
        } catch {
            return switch error {
            case .timedOut: .problem("no answer from \(server) within \(configuration.timeout)")
            case .malformed(let reason): .problem("\(server) answered with bytes that are not a DNS message: \(reason.reason)")
            case .io(let cause): .problem("could not ask \(server): \(cause)")
            }
        }
        guard let question = answer.questions.first, answer.questions.count == 1,
              DNSName.canonical(question.name) == DNSName.canonical(name), question.type == type
        else {
            // FORMERR answers may leave the question out.
            if answer.header.responseCode == .formatError { return .answered(answer) }
            return .problem("\(server) answered another question than \(type) \(name)")
        }
        return .answered(answer)
    }

    /// An A or AAAA record's address as text.
    static func text(of data: DNSRecordData) -> String? {
        switch data {
        case .a(let bytes), .aaaa(let bytes):
            return (try? SocketAddress(packedIPAddress: ByteBuffer(bytes: bytes), port: 0))?.ipAddress
        default:
            return nil
        }
    }

    /// `host` in canonical form when it is an IPv4 or IPv6 address.
    static func canonicalLiteral(_ host: String) -> String? {
        guard host.utf8.allSatisfy({ $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") || isHexDigit($0) }),
              let address = try? SocketAddress(ipAddress: host, port: 0)
        else { return nil }
        return address.ipAddress
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
    }

    private static func readSmallFile(_ path: String) -> String? {
        #if canImport(Glibc)
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 20 {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
        #else
        return nil
        #endif
    }

    private static func hostDomain() -> String? {
        #if canImport(Glibc)
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let dot = name.firstIndex(of: "."), name.index(after: dot) < name.endIndex else { return nil }
        return String(name[name.index(after: dot)...])
        #else
        return nil
        #endif
    }
}

extension SocketAddress {
    /// "10.96.0.10:53", "[fd00::53]:53": how messages name a nameserver.
    var hostPort: String {
        let host = ipAddress ?? "\(self)"
        return DNSJoinResolver.hostPort(host, port ?? 0)
    }
}

/// One SRV target, as ``DNSResolver/lookupService(name:)`` returns it.
public struct ServiceTarget: Sendable, Equatable {
    /// The target host, without the trailing dot, lower-cased.
    public var target: String
    public var port: Int
    public var priority: Int
    public var weight: Int
    /// Addresses of `target` found in the answer's additional section (empty when the server sent none).
    public var addresses: [String]

    public init(target: String, port: Int, priority: Int = 0, weight: Int = 0, addresses: [String] = []) {
        self.target = target
        self.port = port
        self.priority = priority
        self.weight = weight
        self.addresses = addresses
    }
}

/// Why a lookup found nothing.
public enum DNSResolverError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `name` cannot be asked for: an empty label, a label over 63 bytes, over 255 bytes in all.
    case invalidName(String, reason: String)
    /// The nameservers answered that none of the names tried exists or has such records.
    case notFound(String, tried: [String])
    /// No nameserver gave an answer (timeouts, SERVFAIL, REFUSED, a malformed answer, a socket error); `reason` is
    /// the last problem met.
    case failed(String, reason: String)

    public var description: String {
        switch self {
        case .invalidName(let name, let reason):
            "DNS lookup of \"\(name)\": not a valid name: \(reason)"
        case .notFound(let name, let tried):
            "DNS lookup of \"\(name)\": no such host or no records (tried \(tried.joined(separator: ", ")))"
        case .failed(let name, let reason):
            "DNS lookup of \"\(name)\" failed: \(reason); check the nameservers in /etc/resolv.conf"
        }
    }
}
