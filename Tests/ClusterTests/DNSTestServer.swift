@testable import Cluster
import NIOCore
import NIOPosix
import Synchronization
import Wire

/// A nameserver in the test process, on an ephemeral loopback port, over UDP and TCP (same port), answering from
/// records the test sets, with Wire's own DNS encoder and decoder.
final class DNSTestServer: Sendable {
    enum Mode: Sendable {
        /// Answers every query over both transports.
        case answer
        /// Reads queries and never answers.
        case silent
        /// Answers over UDP with only a header with TC set; the full answer is over TCP.
        case truncateOverUDP
        /// Before each UDP answer, sends a forged one (another ID, address 10.9.9.9) and a query echoed back.
        case forgeFirst
        /// Answers FORMERR (without the question) to queries with an EDNS OPT record, as servers predating EDNS do.
        case refuseEDNS
    }

    struct Query: Sendable, Equatable {
        var name: String
        var type: DNSRecordType
        var overTCP: Bool
        var withEDNS = false
    }

    private struct State {
        var records: [DNSRecord] = []
        var glue: [DNSRecord] = []
        var mode: Mode
        var queries: [Query] = []
    }

    private let state: Mutex<State>
    private let channels: Mutex<[any Channel]> = Mutex([])
    let address: SocketAddress

    /// The queries received so far, in order.
    var queries: [Query] { state.withLock { $0.queries } }

    /// Sets the zone: `records` answer questions; `glue` (addresses of SRV targets) only ever travels in the
    /// additional section of an SRV answer.
    func set(records: [DNSRecord], glue: [DNSRecord] = []) {
        state.withLock {
            $0.records = records
            $0.glue = glue
        }
    }
    func set(mode: Mode) { state.withLock { $0.mode = mode } }

    private init(mode: Mode, address: SocketAddress) {
        state = Mutex(State(mode: mode))
        self.address = address
    }

    /// Starts on `host` (127.0.0.1 or ::1), UDP on an ephemeral port and TCP on the same port.
    static func start(mode: Mode = .answer, host: String = "127.0.0.1") async throws -> DNSTestServer {
        let group = MultiThreadedEventLoopGroup.singleton
        for _ in 0..<20 {
            let server = ServerBox()
            let udp = try await DatagramBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(UDPHandler(server: server))
                    }
                }
                .bind(host: host, port: 0).get()
            guard let port = udp.localAddress?.port else { throw ChannelError.unknownLocalAddress }
            let tcp: any Channel
            do {
                tcp = try await ServerBootstrap(group: group)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LengthPrefixedFrameDecoder()))
                            try channel.pipeline.syncOperations.addHandler(TCPHandler(server: server))
                        }
                    }
                    .bind(host: host, port: port).get()
            } catch {
                try await udp.close()
                continue  // the TCP port was taken: try another
            }
            let dnsServer = DNSTestServer(mode: mode, address: try SocketAddress(ipAddress: host, port: port))
            server.server.withLock { $0 = dnsServer }
            dnsServer.channels.withLock { $0 = [udp, tcp] }
            return dnsServer
        }
        throw ChannelError.unknownLocalAddress
    }

    func stop() async {
        for channel in channels.withLock({ $0 }) { try? await channel.close() }
    }

    /// A resolver asking only this server.
    /// A generous timeout: on a loaded two-core CI machine an answer can take far longer than a nameserver needs, and
    /// a retry would change the queries the tests count. Tests of timeouts pass their own.
    func resolver(searchDomains: [String] = [], ndots: Int = 1, timeout: Duration = .seconds(5),
                  attempts: Int = 2) -> DNSResolver {
        DNSResolver(configuration: ResolverConfiguration(nameservers: [address], searchDomains: searchDomains,
                                                         ndots: ndots, timeout: timeout, attempts: attempts))
    }

    /// The messages to send back for `bytes`: none to stay silent.
    fileprivate func answers(_ bytes: [UInt8], overTCP: Bool) -> [[UInt8]] {
        guard let answer = answer(bytes, overTCP: overTCP) else { return [] }
        guard state.withLock({ $0.mode }) == .forgeFirst, !overTCP, var forged = try? DNSMessage(bytes: answer)
        else { return [answer] }
        forged.header.id ^= 0x5555
        forged.answers = forged.questions.map { .address(name: $0.name, [10, 9, 9, 9]) }
        var echo = forged
        echo.header.id ^= 0x5555
        echo.header.isResponse = false
        return [(try? forged.encode()) ?? [], (try? echo.encode()) ?? [], answer]
    }

    /// The answer to `bytes`, nil to stay silent.
    private func answer(_ bytes: [UInt8], overTCP: Bool) -> [UInt8]? {
        guard let query = try? DNSMessage(bytes: bytes), let question = query.questions.first else { return nil }
        let (records, glue, mode) = state.withLock { state in
            state.queries.append(Query(name: question.name, type: question.type, overTCP: overTCP,
                                       withEDNS: query.additionals.contains { $0.type == .opt }))
            return (state.records, state.glue, state.mode)
        }
        var header = DNSHeader(id: query.header.id)
        header.isResponse = true
        header.recursionDesired = query.header.recursionDesired
        header.recursionAvailable = true
        switch mode {
        case .silent:
            return nil
        case .refuseEDNS where query.additionals.contains(where: { $0.type == .opt }):
            header.responseCode = .formatError
            return try? DNSMessage(header: header).encode()
        case .truncateOverUDP where !overTCP:
            header.isTruncated = true
            return try? DNSMessage(header: header, questions: [question]).encode()
        default:
            break
        }
        var response = DNSMessage(header: header, questions: [question])
        var name = DNSName.canonical(question.name)
        var exists = false
        // Follow CNAMEs as a recursive server does: the chain, then the records of its end.
        for _ in 0..<8 {
            let owned = records.filter { DNSName.canonical($0.name) == name }
            exists = exists || !owned.isEmpty
            let matching = owned.filter { $0.type == question.type }
            if !matching.isEmpty {
                response.answers += matching
                break
            }
            guard let alias = owned.first(where: { $0.type == .cname }), case .cname(let target) = alias.data else { break }
            response.answers.append(alias)
            name = DNSName.canonical(target)
        }
        if !exists { response.header.responseCode = .nameError }
        for case .srv(let service) in response.answers.map(\.data) {
            response.additionals += glue.filter { DNSName.canonical($0.name) == DNSName.canonical(service.target) }
        }
        return try? response.encode()
    }
}

/// Lets the handlers, made before the server object, reach it.
private final class ServerBox: Sendable {
    let server = Mutex<DNSTestServer?>(nil)
    func answers(_ bytes: [UInt8], overTCP: Bool) -> [[UInt8]] {
        server.withLock { $0 }?.answers(bytes, overTCP: overTCP) ?? []
    }
}

private final class UDPHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>
    let server: ServerBox

    init(server: ServerBox) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        for answer in server.answers(Array(envelope.data.readableBytesView), overTCP: false) {
            context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress,
                                                                    data: ByteBuffer(bytes: answer))), promise: nil)
        }
    }
}

private final class TCPHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let server: ServerBox

    init(server: ServerBox) { self.server = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        for answer in server.answers(Array(unwrapInboundIn(data).readableBytesView), overTCP: true) {
            var buffer = ByteBuffer()
            buffer.writeInteger(UInt16(answer.count))
            buffer.writeBytes(answer)
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
        }
    }
}
