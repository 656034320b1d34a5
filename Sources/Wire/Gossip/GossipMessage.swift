/// The message cluster members exchange over HTTP (`POST /api/v0/cluster/gossip`): the sender's view of the member
/// list. It is our own format, protobuf-encoded, and not wire-compatible with ckit or HashiCorp memberlist.
///
/// ```proto
/// message GossipMessage {
///   string cluster_name = 1;   // a receiver of another cluster name refuses the message
///   string sender = 2;         // the sender's node name
///   uint64 lamport_time = 3;   // the sender's Lamport clock
///   repeated GossipMember members = 4;
/// }
/// message GossipMember {
///   string name = 1;
///   string address = 2;        // host:port of the member's HTTP server
///   uint32 state = 3;          // 0 viewer, 1 participant, 2 terminating
///   uint64 incarnation = 4;    // when the member started (Unix nanoseconds): a restart outranks the old record
///   uint64 sequence = 5;       // bumped by the member itself on every heartbeat and change
///   uint64 age_ms = 6;         // how long ago the sender saw this record advance (0 for its own)
/// }
/// ```
public struct GossipMessage: Sendable, Equatable {
    public var clusterName: String
    public var sender: String
    public var lamportTime: UInt64
    public var members: [GossipMember]

    public init(clusterName: String, sender: String, lamportTime: UInt64, members: [GossipMember]) {
        self.clusterName = clusterName
        self.sender = sender
        self.lamportTime = lamportTime
        self.members = members
    }

    /// Larger bodies are refused before decoding: a member record is tens of bytes, so this is room for thousands.
    public static let maxEncodedSize = 4 << 20

    public func encode() -> [UInt8] {
        let sizes = members.map(\.encodedSize)
        var size = ProtobufWriter.stringFieldSize(clusterName.utf8.count)
            + ProtobufWriter.stringFieldSize(sender.utf8.count)
        if lamportTime != 0 { size += ProtobufWriter.varintFieldSize(lamportTime) }
        for memberSize in sizes { size += ProtobufWriter.lengthDelimitedFieldSize(memberSize) }
        return ProtobufWriter.bytes(count: size) { writer in
            writer.writeStringField(1, clusterName)
            writer.writeStringField(2, sender)
            if lamportTime != 0 { writer.writeVarintField(3, lamportTime) }
            for (member, memberSize) in zip(members, sizes) {
                writer.writeMessageHeader(4, size: memberSize)
                member.write(into: &writer)
            }
        }
    }

    /// Decodes untrusted bytes; the error says what is wrong and at which byte.
    public init(protobuf bytes: [UInt8]) throws(GossipDecodeError) {
        guard bytes.count <= Self.maxEncodedSize else {
            throw GossipDecodeError(reason: "message of \(bytes.count) bytes exceeds the limit of \(Self.maxEncodedSize)")
        }
        var message = GossipMessage(clusterName: "", sender: "", lamportTime: 0, members: [])
        let result = bytes.withUnsafeBufferPointer { buffer -> GossipDecodeError? in
            guard let base = buffer.baseAddress else { return nil }
            do throws(GossipDecodeError) {
                var reader = ProtobufReader(base: base, range: 0..<buffer.count, message: GossipSchema.message)
                while !reader.isAtEnd {
                    let tag = try reader.readTag()
                    switch tag.field {
                    case 1: message.clusterName = try reader.string(tag, "cluster_name")
                    case 2: message.sender = try reader.string(tag, "sender")
                    case 3: message.lamportTime = try reader.varint(tag, "lamport_time")
                    case 4:
                        let range = try reader.lengthDelimited(tag, "members")
                        var memberReader = ProtobufReader(base: base, range: range, message: GossipSchema.member)
                        message.members.append(try GossipMember(reading: &memberReader))
                    default: try reader.skipField(tag)
                    }
                }
                return nil
            } catch {
                return error
            }
        }
        if let result { throw result }
        self = message
    }
}

/// One member as a message carries it.
public struct GossipMember: Sendable, Equatable {
    public enum State: UInt32, Sendable, CaseIterable {
        case viewer = 0
        case participant = 1
        case terminating = 2

        /// ckit's spelling, as `/api/v0/web/peers` shows it.
        public var name: String {
            switch self {
            case .viewer: "viewer"
            case .participant: "participant"
            case .terminating: "terminating"
            }
        }
    }

    public var name: String
    public var address: String
    public var state: State
    public var incarnation: UInt64
    public var sequence: UInt64
    /// The sender's observation, not part of the member's own record: receivers date the record's last advance
    /// back by this much, so a member learnt second-hand is not thought fresher than it is.
    public var ageMilliseconds: UInt64

    public init(name: String, address: String, state: State, incarnation: UInt64, sequence: UInt64,
                ageMilliseconds: UInt64 = 0) {
        self.name = name
        self.address = address
        self.state = state
        self.incarnation = incarnation
        self.sequence = sequence
        self.ageMilliseconds = ageMilliseconds
    }

    /// Whether this record is newer than `other` for the same member: a later incarnation, or the same one with a
    /// higher sequence.
    public func supersedes(_ other: GossipMember) -> Bool {
        (incarnation, sequence) > (other.incarnation, other.sequence)
    }

    var encodedSize: Int {
        var size = ProtobufWriter.stringFieldSize(name.utf8.count) + ProtobufWriter.stringFieldSize(address.utf8.count)
        if state.rawValue != 0 { size += ProtobufWriter.varintFieldSize(UInt64(state.rawValue)) }
        if incarnation != 0 { size += ProtobufWriter.varintFieldSize(incarnation) }
        if sequence != 0 { size += ProtobufWriter.varintFieldSize(sequence) }
        if ageMilliseconds != 0 { size += ProtobufWriter.varintFieldSize(ageMilliseconds) }
        return size
    }

    func write(into writer: inout ProtobufWriter) {
        writer.writeStringField(1, name)
        writer.writeStringField(2, address)
        if state.rawValue != 0 { writer.writeVarintField(3, UInt64(state.rawValue)) }
        if incarnation != 0 { writer.writeVarintField(4, incarnation) }
        if sequence != 0 { writer.writeVarintField(5, sequence) }
        if ageMilliseconds != 0 { writer.writeVarintField(6, ageMilliseconds) }
    }

    init(reading reader: inout ProtobufReader<GossipSchema>) throws(GossipDecodeError) {
        var member = GossipMember(name: "", address: "", state: .viewer, incarnation: 0, sequence: 0)
        while !reader.isAtEnd {
            let tag = try reader.readTag()
            switch tag.field {
            case 1: member.name = try reader.string(tag, "name")
            case 2: member.address = try reader.string(tag, "address")
            case 3:
                let raw = try reader.varint(tag, "state")
                guard raw <= UInt64(UInt32.max), let state = State(rawValue: UInt32(raw)) else {
                    throw GossipDecodeError(reason: "unknown member state \(raw) at byte \(tag.offset)")
                }
                member.state = state
            case 4: member.incarnation = try reader.varint(tag, "incarnation")
            case 5: member.sequence = try reader.varint(tag, "sequence")
            case 6: member.ageMilliseconds = try reader.varint(tag, "age_ms")
            default: try reader.skipField(tag)
            }
        }
        guard !member.name.isEmpty else { throw GossipDecodeError(reason: "a member without a name") }
        self = member
    }
}

/// Why a gossip message could not be read.
public struct GossipDecodeError: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public var description: String { "gossip message: \(reason)" }
}

enum GossipSchema: ProtobufDecoderMessage {
    case message
    case member

    func error(_ failure: ProtobufReadFailure, at offset: Int) -> GossipDecodeError {
        let name = switch self {
        case .message: "GossipMessage"
        case .member: "GossipMember"
        }
        return GossipDecodeError(reason: "\(failure.reason(in: name)) at byte \(offset)")
    }
}
