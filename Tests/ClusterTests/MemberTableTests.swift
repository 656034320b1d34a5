import Testing
import Wire
@testable import Cluster

@Suite struct MemberTableTests {
    static let start = ContinuousClock.now

    static func member(_ name: String, _ state: GossipMember.State = .participant, incarnation: UInt64 = 1,
                       sequence: UInt64, age: UInt64 = 0) -> GossipMember {
        GossipMember(name: name, address: "\(name):1", state: state, incarnation: incarnation, sequence: sequence,
                     ageMilliseconds: age)
    }

    static func table(_ name: String = "a") -> MemberTable {
        MemberTable(local: member(name, .participant, sequence: 1), failureTimeout: .seconds(5),
                    tombstoneTimeout: .seconds(60))
    }

    @Test func learnsMembersAndFailsThoseWhoseHeartbeatStops() {
        var table = Self.table()
        let t0 = Self.start
        #expect(table.merge([Self.member("b", sequence: 1), Self.member("c", sequence: 1)], now: t0).joined == ["b", "c"])
        #expect(table.participants == ["a", "b", "c"])
        // b keeps beating, c does not.
        for second in 1...4 {
            _ = table.merge([Self.member("b", sequence: UInt64(1 + second)), Self.member("c", sequence: 1)],
                            now: t0 + .seconds(second))
            #expect(table.expire(now: t0 + .seconds(second)).failed.isEmpty)
        }
        _ = table.merge([Self.member("b", sequence: 6)], now: t0 + .seconds(5))
        #expect(table.expire(now: t0 + .seconds(5)).failed == ["c"])
        #expect(table.peers.map(\.name) == ["a", "b"])
        // A stale record of c from a slower member does not bring it back...
        #expect(table.merge([Self.member("c", sequence: 1)], now: t0 + .seconds(6)).joined.isEmpty)
        // ...but c restarting (a new incarnation) or beating again does.
        #expect(table.merge([Self.member("c", incarnation: 2, sequence: 1)], now: t0 + .seconds(7)).joined == ["c"])
    }

    @Test func secondHandRecordsAreDatedBackByTheirAge() {
        var table = Self.table()
        let t0 = Self.start
        // b was last seen advancing 4 s ago by the sender: failed 1 s from now, not 5.
        _ = table.merge([Self.member("b", sequence: 9, age: 4_000)], now: t0)
        #expect(table.expire(now: t0 + .milliseconds(900)).failed.isEmpty)
        #expect(table.expire(now: t0 + .seconds(1)).failed == ["b"])
        // A record already older than the timeout is not taken in at all.
        var other = Self.table()
        #expect(other.merge([Self.member("b", sequence: 9, age: 6_000)], now: t0).joined.isEmpty)
    }

    @Test func stateChangesAreUpdatesAndSendersSeeAges() {
        var table = Self.table()
        let t0 = Self.start
        _ = table.merge([Self.member("b", sequence: 1)], now: t0)
        #expect(table.merge([Self.member("b", .terminating, sequence: 2)], now: t0).updated == ["b"])
        #expect(table.peers.last?.state == .terminating)
        #expect(table.participants == ["a"])
        let records = table.records(now: t0 + .milliseconds(1_500))
        #expect(records.map(\.name) == ["a", "b"])
        #expect(records[0].ageMilliseconds == 0 && records[1].ageMilliseconds == 1_500)
        // Older records never overwrite newer ones.
        #expect(table.merge([Self.member("b", .participant, sequence: 1)], now: t0).updated.isEmpty)
        #expect(table.peers.last?.state == .terminating)
    }

    @Test func ownNameFromAnotherProcessIsAConflictAndIgnored() {
        var table = Self.table()
        var impostor = Self.member("a", incarnation: 9, sequence: 50)
        impostor.address = "elsewhere:1"
        #expect(table.merge([impostor], now: Self.start).conflicts == ["a"])
        #expect(table.local.address == "a:1")
        #expect(table.peers.count == 1)
    }

    /// Any order of delivering any members' records converges to the same peer list.
    @Test func mergeOrderDoesNotMatter() {
        var random = SplitMix64(seed: 7)
        for _ in 0..<200 {
            let records = (0..<12).map { _ in
                Self.member(["b", "c", "d"][Int.random(in: 0...2, using: &random)],
                            GossipMember.State.allCases[Int.random(in: 0...2, using: &random)],
                            incarnation: UInt64.random(in: 1...2, using: &random),
                            sequence: UInt64.random(in: 1...5, using: &random))
            }
            var one = Self.table()
            var two = Self.table()
            for record in records { _ = one.merge([record], now: Self.start) }
            _ = two.merge(records.shuffled(using: &random), now: Self.start)
            let oneView = one.peers.map { "\($0.name)=\($0.state)" }
            let twoView = two.peers.map { "\($0.name)=\($0.state)" }
            // Equal (incarnation, sequence) with different states cannot come from one writer; skip such draws.
            let keys = Dictionary(grouping: records, by: { "\($0.name)/\($0.incarnation)/\($0.sequence)" })
            if keys.values.contains(where: { Set($0.map(\.state.rawValue)).count > 1 }) { continue }
            #expect(oneView == twoView)
        }
    }
}
