import Testing
import TestSupport
@testable import Wire

@Suite struct DNSMessageTests {
    static func name(_ text: String) -> [UInt8] {
        text.split(separator: ".").flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) } + [0]
    }

    /// An answer to `SRV _gossip._tcp.loki.svc` as a compressing server writes it: the answer's owner is a pointer
    /// to the question (byte 12), the target `a.loki.svc` is `a` plus a pointer into the question's name, and the
    /// additional A record for the target points at the target.
    static let compressedServiceAnswer: [UInt8] = {
        var bytes: [UInt8] = [0xBE, 0xEF, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 1]
        bytes += name("_gossip._tcp.loki.svc") + [0, 33, 0, 1]               // question at 12; "loki" at 12+8+5=25
        bytes += [0xC0, 12, 0, 33, 0, 1, 0, 0, 0, 30, 0, 10]                 // answer: owner -> question, rdlength 10
        let targetOffset = bytes.count + 6
        bytes += [0, 10, 0, 5, 0x1F, 0x9A, 1, UInt8(ascii: "a"), 0xC0, 25]   // prio 10, weight 5, port 8090, a.<loki.svc>
        bytes += [0xC0, UInt8(targetOffset), 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 0, 0, 7]  // A a.loki.svc 10.0.0.7
        return bytes
    }()

    @Test func encodesAQueryAsAStubResolverSendsIt() throws {
        let bytes = try DNSMessage.query(name: "example.com", type: .a, id: 0x1234, ednsPayloadSize: nil).encode()
        #expect(bytes == [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0] + Self.name("example.com") + [0, 1, 0, 1])

        let edns = try DNSMessage.query(name: "example.com.", type: .srv, id: 7).encode()
        #expect(edns.suffix(11) == [0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0])  // OPT, 1232 bytes, no options
        let decoded = try DNSMessage(bytes: edns)
        #expect(decoded.header.recursionDesired && !decoded.header.isResponse && decoded.header.id == 7)
        #expect(decoded.questions == [DNSQuestion(name: "example.com", type: .srv)])
        #expect(decoded.additionals.map(\.type) == [.opt])
    }

    @Test func decodesACompressedServiceAnswer() throws {
        let message = try DNSMessage(bytes: Self.compressedServiceAnswer)
        #expect(message.header.id == 0xBEEF && message.header.isResponse && message.header.recursionAvailable)
        #expect(message.header.responseCode == .noError && !message.header.isTruncated)
        #expect(message.questions == [DNSQuestion(name: "_gossip._tcp.loki.svc", type: .srv)])
        #expect(message.answers == [DNSRecord(name: "_gossip._tcp.loki.svc", type: .srv, ttl: 30,
                                              data: .srv(DNSServiceRecord(priority: 10, weight: 5, port: 8090,
                                                                          target: "a.loki.svc")))])
        #expect(message.additionals == [.address(name: "a.loki.svc", [10, 0, 0, 7])])
        // Re-encoded without compression, it reads back the same.
        #expect(try DNSMessage(bytes: message.encode()) == message)
    }

    @Test func followsCNAMEsToTheAddresses() throws {
        var header = DNSHeader(id: 1)
        header.isResponse = true
        let v6: [UInt8] = [0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]
        let message = DNSMessage(header: header, questions: [DNSQuestion(name: "www.example.com", type: .a)], answers: [
            DNSRecord(name: "WWW.example.com", type: .cname, ttl: 5, data: .cname("web.example.com")),
            DNSRecord(name: "web.example.com", type: .cname, ttl: 5, data: .cname("Host.Example.com")),
            .address(name: "host.example.com", [192, 0, 2, 1]),
            .address(name: "host.example.com", v6),
            .address(name: "unrelated.example.com", [192, 0, 2, 9]),
        ])
        let decoded = try DNSMessage(bytes: message.encode())
        #expect(decoded == message)
        #expect(decoded.answers(for: "www.example.com.", type: .a).map(\.data) == [.a([192, 0, 2, 1])])
        #expect(decoded.answers(for: "www.example.com", type: .aaaa).map(\.data) == [.aaaa(v6)])
        #expect(decoded.answers(for: "other.example.com", type: .a).isEmpty)

        // A CNAME loop ends without an answer.
        let loop = DNSMessage(header: header, answers: [
            DNSRecord(name: "a", type: .cname, ttl: 5, data: .cname("b")),
            DNSRecord(name: "b", type: .cname, ttl: 5, data: .cname("a")),
        ])
        #expect(loop.answers(for: "a", type: .a).isEmpty)
    }

    @Test func escapesLabelBytesThatAreNotPlainText() throws {
        var header = DNSHeader(id: 9)
        header.responseCode = .nameError
        let odd = "a\\046b.\\032\\092\\255x.example"  // "a.b", " \\\xffx"
        let message = DNSMessage(header: header, questions: [DNSQuestion(name: odd, type: .aaaa)])
        let bytes = try message.encode()
        #expect(Array(bytes[12..<17]) == [3, UInt8(ascii: "a"), UInt8(ascii: "."), UInt8(ascii: "b"), 4])
        #expect(try DNSMessage(bytes: bytes) == message)
        #expect(try DNSMessage(bytes: bytes).header.responseCode.description == "NXDOMAIN")
    }

    @Test(arguments: [
        ("an empty label", "a..b"),
        ("a leading dot", ".a"),
        ("a label of 64 bytes", String(repeating: "x", count: 64) + ".com"),
        ("a name of 256 bytes", Array(repeating: String(repeating: "x", count: 63), count: 4).joined(separator: ".")),
        ("an unfinished escape", "a\\"),
        ("a short decimal escape", "a\\12"),
        ("an escape above 255", "a\\256"),
    ])
    func refusesToEncodeNamesDNSCannotCarry(what: String, name: String) {
        #expect(throws: DNSMessageError.self, "\(what)") {
            try DNSMessage.query(name: name, type: .a, id: 1).encode()
        }
    }

    @Test func theLongestNamesAreAccepted() throws {
        // 3 × 63 + 61 bytes of labels, 4 length bytes and the closing zero: exactly 255.
        let longest = [String(repeating: "x", count: 63), String(repeating: "y", count: 63),
                       String(repeating: "z", count: 63), String(repeating: "w", count: 61)].joined(separator: ".")
        let message = DNSMessage.query(name: longest, type: .a, id: 1, ednsPayloadSize: nil)
        #expect(try DNSMessage(bytes: message.encode()) == message)
        #expect(throws: DNSMessageError.self) { try DNSName.validate(longest + "w") }
    }

    static let header: [UInt8] = [0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0]
    static let headerWithAnswer: [UInt8] = [0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]

    @Test(arguments: [
        ("a short header", [0, 1, 0x81], "truncated header"),
        ("counts the bytes cannot hold", [0, 1, 0x81, 0x80, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0], "header counts"),
        ("a pointer to itself", header + [0xC0, 12, 0, 1, 0, 1], "pointer loop"),
        ("a pointer forward", header + [0xC0, 14, 1, UInt8(ascii: "a"), 0, 0, 1, 0, 1], "pointer loop"),
        ("a two-pointer cycle", header + [1, UInt8(ascii: "a"), 0xC0, 16, 0xC0, 12, 0, 1], "pointer loop"),
        ("a pointer past the end", header + [0xC3, 0xFF, 0, 1, 0, 1], "past the end"),
        ("a truncated pointer", header + [3, 0x61, 0x62, 0x63, 0xC0], "pointer needs 2 bytes"),
        ("a label of 64 bytes", header + [64] + Array(repeating: 0x61, count: 64) + [0, 0, 1, 0, 1], "nor a compression pointer"),
        ("a label running off the end", header + [9, 0x61, 0x61, 0, 0, 0], "truncated"),
        ("a name of 257 bytes", header + Array(repeating: [63] + Array(repeating: 0x61, count: 63), count: 4).joined()
            + [0, 0, 1, 0, 1], "longer than 255"),
        ("a name without an end", header + [3, 0x61, 0x62, 0x63, 1, 0x61], "no end"),
        ("an answer whose data runs off the end", headerWithAnswer + [0, 0, 1, 0, 1] + [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 9, 1, 2],
         "data length is 9"),
        ("an A record of 5 bytes", headerWithAnswer + [0, 0, 1, 0, 1] + [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5],
         "not 4"),
        ("an SRV record longer than its fields", headerWithAnswer + [0, 0, 33, 0, 1]
            + [0, 0, 33, 0, 1, 0, 0, 0, 0, 0, 8, 0, 1, 0, 1, 0, 1, 0, 9], "fields take 7"),
        ("an SRV target running past its data", headerWithAnswer + [0, 0, 33, 0, 1]
            + [0, 0, 33, 0, 1, 0, 0, 0, 0, 0, 7, 0, 1, 0, 1, 0, 1, 1, 0x61, 0], "fields take 9"),
    ] as [(String, [UInt8], String)])
    func refusesMalformedBytes(what: String, bytes: [UInt8], reason: String) {
        do {
            let message = try DNSMessage(bytes: bytes)
            Issue.record("\(what) decoded: \(message)")
        } catch {
            #expect(error.reason.contains(reason), "\(what): \(error.reason)")
        }
    }

    @Test func readsTheHeaderOfATruncatedAnswerAlone() throws {
        var bytes = Self.compressedServiceAnswer
        bytes[2] |= 0x02  // TC
        bytes.removeLast(10)
        #expect(throws: DNSMessageError.self) { try DNSMessage(bytes: bytes) }
        let header = try DNSHeader(bytes: bytes)
        #expect(header.isTruncated && header.id == 0xBEEF)
    }

    // MARK: - Properties

    static func randomName(_ random: inout SeededRandom) -> String {
        let plain = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
        let labels = (0..<random.int(0...5)).map { _ in
            (0..<random.int(1...12)).map { _ -> String in
                if random.chance(10) {
                    let byte = [0, 0x20, 0x2E, 0x5C, 0x7F, 0xFF][random.int(0...5)]
                    return "\\" + String(String(byte + 1000).dropFirst())
                }
                return String(plain[random.int(0...plain.count - 1)])
            }.joined()
        }
        return labels.joined(separator: ".")
    }

    static func randomRecord(_ random: inout SeededRandom) -> DNSRecord {
        let name = randomName(&random)
        let ttl = UInt32(truncatingIfNeeded: random.next())
        switch random.int(0...4) {
        case 0: return DNSRecord(name: name, type: .a, ttl: ttl, data: .a(random.bytes(4)))
        case 1: return DNSRecord(name: name, type: .aaaa, ttl: ttl, data: .aaaa(random.bytes(16)))
        case 2: return DNSRecord(name: name, type: .cname, class: UInt16(random.int(1...255)), ttl: ttl,
                                 data: .cname(randomName(&random)))
        case 3:
            return DNSRecord(name: name, type: .srv, ttl: ttl, data: .srv(DNSServiceRecord(
                priority: UInt16(random.int(0...65_535)), weight: UInt16(random.int(0...65_535)),
                port: UInt16(random.int(0...65_535)), target: randomName(&random))))
        default:
            return DNSRecord(name: name, type: DNSRecordType(rawValue: UInt16(random.int(41...300))),
                             class: UInt16(random.int(0...65_535)), ttl: ttl, data: .other(random.bytes(random.int(0...20))))
        }
    }

    static func randomMessage(_ random: inout SeededRandom) -> DNSMessage {
        var header = DNSHeader(id: UInt16(random.int(0...65_535)))
        header.isResponse = random.chance(50)
        header.opcode = UInt8(random.int(0...15))
        header.isAuthoritative = random.chance(50)
        header.isTruncated = random.chance(20)
        header.recursionDesired = random.chance(50)
        header.recursionAvailable = random.chance(50)
        header.responseCode = DNSResponseCode(rawValue: UInt8(random.int(0...15)))
        let questions = (0..<random.int(0...2)).map { _ in
            DNSQuestion(name: randomName(&random), type: DNSRecordType(rawValue: UInt16(random.int(0...40))),
                        class: UInt16(random.int(0...3)))
        }
        return DNSMessage(header: header, questions: questions,
                          answers: (0..<random.int(0...4)).map { _ in randomRecord(&random) },
                          authorities: (0..<random.int(0...2)).map { _ in randomRecord(&random) },
                          additionals: (0..<random.int(0...3)).map { _ in randomRecord(&random) })
    }

    @Test func randomMessagesRoundTrip() throws {
        var random = SeededRandom(seed: FuzzBudget.seed(0xD25_0001))
        for _ in 0..<FuzzBudget.scaled(1_000) {
            let message = Self.randomMessage(&random)
            #expect(try DNSMessage(bytes: message.encode()) == message)
        }
    }

    /// Untrusted bytes decode or throw, never trap; whatever decodes re-encodes to a message that decodes the same.
    @Test func randomAndMutatedBytesNeverTrap() throws {
        var random = SeededRandom(seed: FuzzBudget.seed(0xD25_0002))
        var decodedCount = 0
        for iteration in 0..<FuzzBudget.scaled(5_000) {
            let bytes: [UInt8]
            switch iteration % 4 {
            case 0: bytes = random.bytes(random.int(0...80))
            case 1: bytes = PushFuzzTests.mutate(try Self.randomMessage(&random).encode(), random: &random)
            case 2: bytes = PushFuzzTests.mutate(Self.compressedServiceAnswer, random: &random)
            default:
                // Pointers aimed anywhere, the bytes most likely to find a loop or an off-by-one.
                var mutated = try Self.randomMessage(&random).encode()
                for _ in 0..<random.int(1...3) where mutated.count > 13 {
                    let at = random.int(12...mutated.count - 2)
                    mutated[at] = 0xC0 | UInt8(random.int(0...1))
                    mutated[at + 1] = UInt8(random.int(0...min(255, mutated.count)))
                }
                bytes = mutated
            }
            if let message = try? DNSMessage(bytes: bytes) {
                decodedCount += 1
                #expect(try DNSMessage(bytes: message.encode()) == message)
            }
            _ = try? DNSHeader(bytes: bytes)
        }
        #expect(decodedCount > 0)
    }
}
