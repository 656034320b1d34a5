/// A DNS message (RFC 1035 §4): what the cluster's resolver sends to a nameserver and reads back.
///
/// ```
/// header (12 bytes)  | id u16 | QR opcode(4) AA TC RD | RA Z(3) rcode(4) | qdcount u16 | ancount u16 | nscount u16 | arcount u16 |
/// question           | name | type u16 | class u16 |
/// resource record    | name | type u16 | class u16 | ttl u32 | rdlength u16 | rdata (rdlength bytes) |
/// name               | labels: length byte (1...63) + bytes, ended by a zero byte, or by a 2-byte pointer
///                    | 0b11 + 14-bit offset of the rest of the name earlier in the message (compression)
/// rdata              | A: 4 bytes; AAAA: 16 bytes; CNAME: name; SRV: priority u16, weight u16, port u16, target name
/// ```
///
/// Names are dotted text without the trailing dot (the root is ""). A label byte that is not printable ASCII, or is
/// a `.` or `\`, appears as `\DDD` (decimal), and `\DDD` or `\c` in a name to encode stands for that byte, as in
/// zone files, so every name read from the wire writes back unchanged.
///
/// Decoding takes untrusted bytes: it throws ``DNSMessageError`` saying what is wrong and where, and never traps.
/// Records of other types keep their rdata as bytes (``DNSRecordData/other(_:)``).
public struct DNSMessage: Sendable, Equatable {
    /// The header's section counts are not kept: ``encode()`` writes those of the sections.
    public var header: DNSHeader
    public var questions: [DNSQuestion]
    public var answers: [DNSRecord]
    public var authorities: [DNSRecord]
    public var additionals: [DNSRecord]

    public init(header: DNSHeader, questions: [DNSQuestion] = [], answers: [DNSRecord] = [],
                authorities: [DNSRecord] = [], additionals: [DNSRecord] = []) {
        self.header = header
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
    }

    /// A standard query for `name` and `type` with recursion desired, as a stub resolver sends it.
    ///
    /// - Parameters:
    ///   - id: the message ID an answer must echo; pass a random one (`UInt16.random(in:)`) so that a forged or
    ///     stray datagram is not taken for the answer.
    ///   - ednsPayloadSize: when set, an EDNS(0) OPT record (RFC 6891) tells the server that UDP answers up to this
    ///     size are welcome (1232 bytes is the DNS flag day value Go's resolver uses too); nil sends a plain RFC 1035
    ///     query, whose UDP answers stop at 512 bytes.
    public static func query(name: String, type: DNSRecordType, id: UInt16,
                             ednsPayloadSize: UInt16? = 1232) -> DNSMessage {
        var header = DNSHeader(id: id)
        header.recursionDesired = true
        var message = DNSMessage(header: header, questions: [DNSQuestion(name: name, type: type)])
        if let ednsPayloadSize {
            // OPT: root owner, the class carries the payload size, the TTL the extended rcode/version/flags (all 0).
            message.additionals.append(DNSRecord(name: "", type: .opt, class: ednsPayloadSize, ttl: 0, data: .other([])))
        }
        return message
    }

    /// The largest message read: a TCP message's length prefix is 16 bits.
    public static let maxSize = 65_535

    /// Records of `type` that answer `name`, following CNAME records in the answer section from `name` to the name
    /// that holds them (at most 16 links, so a CNAME loop ends). Names compare without regard to ASCII case.
    public func answers(for name: String, type: DNSRecordType) -> [DNSRecord] {
        var current = DNSName.canonical(name)
        for _ in 0..<16 {
            let owned = answers.filter { DNSName.canonical($0.name) == current }
            let matching = owned.filter { $0.type == type }
            if !matching.isEmpty || type == .cname { return matching }
            guard let alias = owned.lazy.compactMap({ record -> String? in
                if case .cname(let target) = record.data { return target } else { return nil }
            }).first else { return [] }
            current = DNSName.canonical(alias)
        }
        return []
    }
}

extension DNSMessage {
    /// Decodes a message from untrusted bytes (a UDP datagram, or a TCP message without its length prefix).
    public init(bytes: [UInt8]) throws(DNSMessageError) {
        guard bytes.count <= Self.maxSize else {
            throw DNSMessageError("message of \(bytes.count) bytes exceeds the limit of \(Self.maxSize)")
        }
        var cursor = DNSByteCursor(bytes)
        header = try DNSHeader(reading: &cursor)
        let questionCount = Int(try cursor.readUInt16("header question count"))
        let answerCount = Int(try cursor.readUInt16("header answer count"))
        let authorityCount = Int(try cursor.readUInt16("header authority count"))
        let additionalCount = Int(try cursor.readUInt16("header additional count"))
        // A question takes at least 5 bytes and a record 11: counts the bytes cannot hold are refused up front.
        let least = questionCount * 5 + (answerCount + authorityCount + additionalCount) * 11
        guard least <= cursor.remaining else {
            throw DNSMessageError("truncated message: the header counts \(questionCount) questions and "
                + "\(answerCount + authorityCount + additionalCount) records, which need at least \(least) bytes "
                + "after the header, \(cursor.remaining) left")
        }
        questions = []
        questions.reserveCapacity(questionCount)
        for index in 0..<questionCount {
            let name = try DNSName.read(&cursor, "question \(index + 1) name")
            let type = DNSRecordType(rawValue: try cursor.readUInt16("question \(index + 1) type"))
            let qclass = try cursor.readUInt16("question \(index + 1) class")
            questions.append(DNSQuestion(name: name, type: type, class: qclass))
        }
        answers = try Self.readRecords(answerCount, "answer", &cursor)
        authorities = try Self.readRecords(authorityCount, "authority record", &cursor)
        additionals = try Self.readRecords(additionalCount, "additional record", &cursor)
    }

    private static func readRecords(_ count: Int, _ section: String,
                                    _ cursor: inout DNSByteCursor) throws(DNSMessageError) -> [DNSRecord] {
        var records: [DNSRecord] = []
        records.reserveCapacity(count)
        for index in 0..<count {
            records.append(try DNSRecord(reading: &cursor, "\(section) \(index + 1)"))
        }
        return records
    }

    /// The message's bytes, names written without compression.
    ///
    /// Throws when a name cannot be a DNS name (an empty label, a label over 63 bytes, a name over 255 bytes, a
    /// bad escape), when a section holds more than 65,535 entries, or when an address or rdata does not fit.
    public func encode() throws(DNSMessageError) -> [UInt8] {
        var writer = DNSByteWriter()
        header.write(into: &writer)
        for count in [questions.count, answers.count, authorities.count, additionals.count] {
            guard count <= Int(UInt16.max) else {
                throw DNSMessageError("a section of \(count) entries exceeds the limit of \(UInt16.max)")
            }
            writer.write(UInt16(count))
        }
        for question in questions {
            try DNSName.write(question.name, into: &writer)
            writer.write(question.type.rawValue)
            writer.write(question.class)
        }
        for record in answers + authorities + additionals {
            try record.write(into: &writer)
        }
        return writer.bytes
    }
}

/// The fixed 12-byte header without its section counts (``DNSMessage`` derives them from its sections).
public struct DNSHeader: Sendable, Equatable {
    public var id: UInt16
    /// QR: a response rather than a query.
    public var isResponse = false
    public var opcode: UInt8 = 0
    public var isAuthoritative = false
    /// TC: the answer did not fit the datagram; ask again over TCP.
    public var isTruncated = false
    public var recursionDesired = false
    public var recursionAvailable = false
    public var responseCode: DNSResponseCode = .noError

    public init(id: UInt16) {
        self.id = id
    }

    /// Reads the header alone (the first 12 bytes), as a resolver does to match an answer's ID and see its TC bit
    /// before the rest, which a truncated answer may cut anywhere.
    public init(bytes: [UInt8]) throws(DNSMessageError) {
        var cursor = DNSByteCursor(bytes)
        try self.init(reading: &cursor)
    }

    init(reading cursor: inout DNSByteCursor) throws(DNSMessageError) {
        id = try cursor.readUInt16("header")
        let flags = try cursor.readUInt16("header")
        isResponse = flags & 0x8000 != 0
        opcode = UInt8((flags >> 11) & 0xF)
        isAuthoritative = flags & 0x0400 != 0
        isTruncated = flags & 0x0200 != 0
        recursionDesired = flags & 0x0100 != 0
        recursionAvailable = flags & 0x0080 != 0
        responseCode = DNSResponseCode(rawValue: UInt8(flags & 0xF))
    }

    func write(into writer: inout DNSByteWriter) {
        var flags = UInt16(opcode & 0xF) << 11 | UInt16(responseCode.rawValue & 0xF)
        if isResponse { flags |= 0x8000 }
        if isAuthoritative { flags |= 0x0400 }
        if isTruncated { flags |= 0x0200 }
        if recursionDesired { flags |= 0x0100 }
        if recursionAvailable { flags |= 0x0080 }
        writer.write(id)
        writer.write(flags)
    }
}

/// RCODE: how the server answered.
public struct DNSResponseCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let noError = DNSResponseCode(rawValue: 0)
    public static let formatError = DNSResponseCode(rawValue: 1)
    public static let serverFailure = DNSResponseCode(rawValue: 2)
    /// NXDOMAIN: the name does not exist.
    public static let nameError = DNSResponseCode(rawValue: 3)
    public static let notImplemented = DNSResponseCode(rawValue: 4)
    public static let refused = DNSResponseCode(rawValue: 5)

    public var description: String {
        switch rawValue {
        case 0: "NOERROR"
        case 1: "FORMERR"
        case 2: "SERVFAIL"
        case 3: "NXDOMAIN"
        case 4: "NOTIMP"
        case 5: "REFUSED"
        default: "RCODE \(rawValue)"
        }
    }
}

/// A record type (QTYPE/TYPE); any 16-bit value is kept.
public struct DNSRecordType: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSRecordType(rawValue: 1)
    public static let cname = DNSRecordType(rawValue: 5)
    public static let aaaa = DNSRecordType(rawValue: 28)
    public static let srv = DNSRecordType(rawValue: 33)
    /// EDNS(0) pseudo-record (RFC 6891).
    public static let opt = DNSRecordType(rawValue: 41)

    public var description: String {
        switch rawValue {
        case 1: "A"
        case 5: "CNAME"
        case 28: "AAAA"
        case 33: "SRV"
        case 41: "OPT"
        default: "TYPE\(rawValue)"
        }
    }
}

/// What a query asks: records of `type` owned by `name`.
public struct DNSQuestion: Sendable, Equatable {
    public var name: String
    public var type: DNSRecordType
    /// 1 is IN, the Internet.
    public var `class`: UInt16

    public init(name: String, type: DNSRecordType, class: UInt16 = 1) {
        self.name = name
        self.type = type
        self.class = `class`
    }
}

/// A resource record.
public struct DNSRecord: Sendable, Equatable {
    public var name: String
    public var type: DNSRecordType
    public var `class`: UInt16
    public var ttl: UInt32
    public var data: DNSRecordData

    public init(name: String, type: DNSRecordType, class: UInt16 = 1, ttl: UInt32, data: DNSRecordData) {
        self.name = name
        self.type = type
        self.class = `class`
        self.ttl = ttl
        self.data = data
    }

    /// An A record (`address` is 4 bytes) or AAAA record (16 bytes).
    public static func address(name: String, _ address: [UInt8], ttl: UInt32 = 30) -> DNSRecord {
        address.count == 16
            ? DNSRecord(name: name, type: .aaaa, ttl: ttl, data: .aaaa(address))
            : DNSRecord(name: name, type: .a, ttl: ttl, data: .a(address))
    }

    init(reading cursor: inout DNSByteCursor, _ what: String) throws(DNSMessageError) {
        name = try DNSName.read(&cursor, "\(what) name")
        type = DNSRecordType(rawValue: try cursor.readUInt16("\(what) type"))
        self.class = try cursor.readUInt16("\(what) class")
        ttl = try cursor.readUInt32("\(what) TTL")
        let length = Int(try cursor.readUInt16("\(what) data length"))
        let start = cursor.offset
        guard length <= cursor.remaining else {
            throw DNSMessageError("truncated \(what) (\(type)) at byte \(start): its data length is \(length) bytes, "
                + "\(cursor.remaining) left")
        }
        // Class IN only: the same types in other classes (CHAOS, ...) mean other things.
        switch (type, self.class) {
        case (.a, 1), (.aaaa, 1):
            let size = type == .a ? 4 : 16
            guard length == size else {
                throw DNSMessageError("\(what) (\(type)) at byte \(start) has \(length) bytes of data, not \(size)")
            }
            let address = try cursor.readBytes(size, "\(what) address")
            data = type == .a ? .a(address) : .aaaa(address)
        case (.cname, _):
            data = .cname(try DNSName.read(&cursor, "\(what) CNAME target"))
        case (.srv, 1):
            let priority = try cursor.readUInt16("\(what) SRV priority")
            let weight = try cursor.readUInt16("\(what) SRV weight")
            let port = try cursor.readUInt16("\(what) SRV port")
            let target = try DNSName.read(&cursor, "\(what) SRV target")
            data = .srv(DNSServiceRecord(priority: priority, weight: weight, port: port, target: target))
        default:
            data = .other(try cursor.readBytes(length, "\(what) data"))
        }
        guard cursor.offset == start + length else {
            throw DNSMessageError("\(what) (\(type)) at byte \(start) declares \(length) bytes of data but its "
                + "fields take \(cursor.offset - start)")
        }
    }

    func write(into writer: inout DNSByteWriter) throws(DNSMessageError) {
        try DNSName.write(name, into: &writer)
        writer.write(type.rawValue)
        writer.write(self.class)
        writer.write(ttl)
        var rdata = DNSByteWriter()
        switch data {
        case .a(let address):
            guard address.count == 4 else {
                throw DNSMessageError("record \"\(name)\": an A address has 4 bytes, not \(address.count)")
            }
            rdata.write(address)
        case .aaaa(let address):
            guard address.count == 16 else {
                throw DNSMessageError("record \"\(name)\": an AAAA address has 16 bytes, not \(address.count)")
            }
            rdata.write(address)
        case .cname(let target):
            try DNSName.write(target, into: &rdata)
        case .srv(let service):
            rdata.write(service.priority)
            rdata.write(service.weight)
            rdata.write(service.port)
            try DNSName.write(service.target, into: &rdata)
        case .other(let bytes):
            rdata.write(bytes)
        }
        guard rdata.bytes.count <= Int(UInt16.max) else {
            throw DNSMessageError("record \"\(name)\": data of \(rdata.bytes.count) bytes exceeds \(UInt16.max)")
        }
        writer.write(UInt16(rdata.bytes.count))
        writer.write(rdata.bytes)
    }
}

/// A record's data, read for the types the resolver uses (A, AAAA, CNAME and SRV, class IN).
public enum DNSRecordData: Sendable, Equatable {
    /// An IPv4 address, 4 bytes in network order.
    case a([UInt8])
    /// An IPv6 address, 16 bytes in network order.
    case aaaa([UInt8])
    /// The canonical name `name` is an alias of.
    case cname(String)
    case srv(DNSServiceRecord)
    /// Another type's rdata, unread.
    case other([UInt8])
}

/// An SRV record's data (RFC 2782).
public struct DNSServiceRecord: Sendable, Equatable {
    /// Lower is tried first.
    public var priority: UInt16
    /// Among equal priorities, the share of the load.
    public var weight: UInt16
    public var port: UInt16
    /// The host providing the service ("" with port 0 means: no such service here).
    public var target: String

    public init(priority: UInt16, weight: UInt16, port: UInt16, target: String) {
        self.priority = priority
        self.weight = weight
        self.port = port
        self.target = target
    }
}

/// Why DNS bytes could not be read, or a message could not be written.
public struct DNSMessageError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    init(_ reason: String) { self.reason = reason }
    public var description: String { "DNS message: \(reason)" }
}
