@testable import Cluster
import NIOCore
import Testing
import Wire

@Suite struct DNSResolverTests {
    static let v6: [UInt8] = [0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]

    @Test func looksUpAAndAAAARecordsFollowingCNAMEs() async throws {
        let server = try await DNSTestServer.start()
        defer { Task { await server.stop() } }
        server.set(records: [
            .address(name: "gossip.example", [10, 0, 0, 2]),
            .address(name: "gossip.example", [10, 0, 0, 3]),
            .address(name: "gossip.example", Self.v6),
            DNSRecord(name: "alias.example", type: .cname, ttl: 5, data: .cname("gossip.example")),
        ])
        let resolver = server.resolver()
        #expect(try await resolver.lookupAddresses(host: "gossip.example") == ["10.0.0.2", "10.0.0.3", "fd00::2"])
        #expect(try await resolver.lookupAddresses(host: "ALIAS.example.") == ["10.0.0.2", "10.0.0.3", "fd00::2"])
        #expect(Set(server.queries.map(\.type)) == [.a, .aaaa])
        #expect(server.queries.allSatisfy { !$0.overTCP })

        // Nothing is cached: a changed record is seen at once.
        server.set(records: [.address(name: "gossip.example", [10, 0, 0, 9])])
        #expect(try await resolver.lookupAddresses(host: "gossip.example") == ["10.0.0.9"])
    }

    @Test func aMissingNameIsNotFoundAfterEveryCandidate() async throws {
        let server = try await DNSTestServer.start()
        defer { Task { await server.stop() } }
        server.set(records: [DNSRecord(name: "text.example", type: DNSRecordType(rawValue: 16), ttl: 5, data: .other([0]))])
        let resolver = server.resolver(searchDomains: ["svc.local"])
        await #expect(throws: DNSResolverError.notFound("missing.example", tried: ["missing.example", "missing.example.svc.local"])) {
            try await resolver.lookupAddresses(host: "missing.example")
        }
        // A name that exists without addresses (NODATA) is not found either.
        await #expect(throws: DNSResolverError.notFound("text.example.", tried: ["text.example"])) {
            try await resolver.lookupAddresses(host: "text.example.")
        }
        await #expect(throws: DNSResolverError.self) { try await resolver.lookupAddresses(host: "bad..name") }
    }

    @Test func expandsRelativeNamesWithTheSearchDomains() async throws {
        let server = try await DNSTestServer.start()
        defer { Task { await server.stop() } }
        server.set(records: [.address(name: "gossip.estuary.svc.cluster.local", [10, 1, 0, 1])])
        // Kubernetes' resolv.conf: ndots:5, so "gossip.estuary" is tried with the search domains first.
        let resolver = server.resolver(searchDomains: ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"],
                                       ndots: 5)
        #expect(try await resolver.lookupAddresses(host: "gossip.estuary") == ["10.1.0.1"])
        #expect(server.queries.filter { $0.type == .a }.map(\.name)
            == ["gossip.estuary.default.svc.cluster.local", "gossip.estuary.svc.cluster.local"])
    }

    @Test func answersLiteralsAndLocalhostWithoutAQuery() async throws {
        let server = try await DNSTestServer.start(mode: .silent)
        defer { Task { await server.stop() } }
        let resolver = server.resolver()
        #expect(try await resolver.lookupAddresses(host: "192.0.2.4") == ["192.0.2.4"])
        #expect(try await resolver.lookupAddresses(host: "FD00:0:0::7") == ["fd00::7"])
        #expect(try await resolver.lookupAddresses(host: "localhost") == ["127.0.0.1"])
        #expect(try await resolver.lookupAddresses(host: "node.localhost.") == ["127.0.0.1"])
        #expect(server.queries.isEmpty)
    }

    @Test func sortsServiceTargetsByPriorityThenWeight() async throws {
        let server = try await DNSTestServer.start()
        defer { Task { await server.stop() } }
        func srv(_ priority: UInt16, _ weight: UInt16, _ port: UInt16, _ target: String) -> DNSRecord {
            DNSRecord(name: "_gossip._tcp.loki.svc", type: .srv, ttl: 5,
                      data: .srv(DNSServiceRecord(priority: priority, weight: weight, port: port, target: target)))
        }
        server.set(records: [srv(20, 0, 7003, "c.loki.svc"), srv(10, 1, 7002, "b.loki.svc"),
                             srv(10, 50, 7001, "A.loki.svc"), srv(0, 0, 0, "")],
                   glue: [.address(name: "a.loki.svc", [10, 2, 0, 1])])
        let targets = try await server.resolver().lookupService(name: "_gossip._tcp.loki.svc")
        #expect(targets == [
            ServiceTarget(target: "a.loki.svc", port: 7001, priority: 10, weight: 50, addresses: ["10.2.0.1"]),
            ServiceTarget(target: "b.loki.svc", port: 7002, priority: 10, weight: 1),
            ServiceTarget(target: "c.loki.svc", port: 7003, priority: 20, weight: 0),
        ])
    }

    @Test func asksAgainOverTCPWhenTheAnswerIsTruncated() async throws {
        let server = try await DNSTestServer.start(mode: .truncateOverUDP)
        defer { Task { await server.stop() } }
        // 200 targets: far more than a datagram of 512 or 1232 bytes holds.
        let records = (0..<200).map { index in
            DNSRecord(name: "_gossip._tcp.big.svc", type: .srv, ttl: 5, data: .srv(DNSServiceRecord(
                priority: 0, weight: 0, port: UInt16(7000 + index), target: "member-\(index).big.svc")))
        }
        server.set(records: records)
        let targets = try await server.resolver().lookupService(name: "_gossip._tcp.big.svc")
        #expect(targets.count == 200)
        #expect(Set(targets.map(\.port)) == Set(7000..<7200))
        #expect(server.queries.map(\.overTCP) == [false, true])
    }

    @Test func ignoresAnswersThatDoNotMatchTheQuery() async throws {
        let server = try await DNSTestServer.start(mode: .forgeFirst)
        defer { Task { await server.stop() } }
        server.set(records: [.address(name: "gossip.example", [10, 0, 0, 2])])
        #expect(try await server.resolver().lookupAddresses(host: "gossip.example") == ["10.0.0.2"])
    }

    @Test func asksAgainWithoutEDNSWhenTheServerDoesNotKnowIt() async throws {
        let server = try await DNSTestServer.start(mode: .refuseEDNS)
        defer { Task { await server.stop() } }
        server.set(records: [.address(name: "gossip.example", [10, 0, 0, 2])])
        let targets = try await server.resolver().lookupAddresses(host: "gossip.example")
        #expect(targets == ["10.0.0.2"])
        #expect(server.queries.filter { $0.type == .a }.map(\.withEDNS) == [true, false])
    }

    @Test func aServerThatNeverAnswersFailsWithinTheBound() async throws {
        let server = try await DNSTestServer.start(mode: .silent)
        defer { Task { await server.stop() } }
        // A second per attempt: long enough that even a loaded CI machine writes each query before its deadline.
        let resolver = server.resolver(timeout: .seconds(1), attempts: 2)
        let started = ContinuousClock.now
        do {
            _ = try await resolver.lookupService(name: "_gossip._tcp.loki.svc")
            Issue.record("a silent server gave an answer")
        } catch {
            guard case .failed(let name, let reason) = error else {
                Issue.record("expected a failure, got \(error)")
                return
            }
            #expect(name == "_gossip._tcp.loki.svc")
            #expect(reason == "no answer from \(server.address.hostPort) within 1.0 seconds", "\(reason)")
        }
        let elapsed = ContinuousClock.now - started
        // Two attempts of a second each: at least 2 s, and bounded (generously, for a loaded CI machine).
        #expect(elapsed >= .milliseconds(1_990) && elapsed < .seconds(30), "took \(elapsed)")
        #expect(server.queries.count == 2)
    }

    @Test func moveOnToTheNextNameserverWhenOneIsSilent() async throws {
        let silent = try await DNSTestServer.start(mode: .silent)
        let answering = try await DNSTestServer.start()
        defer { Task { await silent.stop(); await answering.stop() } }
        answering.set(records: [.address(name: "gossip.example", [10, 0, 0, 5])])
        let resolver = DNSResolver(configuration: ResolverConfiguration(
            // A second per exchange: the answering server must be heard even on a loaded two-core CI machine.
            nameservers: [silent.address, answering.address], timeout: .seconds(1), attempts: 1))
        #expect(try await resolver.lookupAddresses(host: "gossip.example") == ["10.0.0.5"])
        #expect(silent.queries.count == 2)  // A and AAAA, one each
    }

    @Test func asksAnIPv6Nameserver() async throws {
        let server = try await DNSTestServer.start(host: "::1")
        defer { Task { await server.stop() } }
        server.set(records: [.address(name: "gossip.example", Self.v6)])
        #expect(try await server.resolver().lookupAddresses(host: "gossip.example") == ["fd00::2"])
    }

    @Test func readsResolvConf() throws {
        let configuration = ResolverConfiguration(resolvConf: """
            # generated by kubelet
            nameserver 10.96.0.10
            nameserver fd00::53 ; the IPv6 one
            nameserver not-an-address
            nameserver 10.96.0.11
            nameserver 10.96.0.12
            domain example.org
            search default.svc.cluster.local svc.cluster.local. cluster.local
            options ndots:5 timeout:1 attempts:3 rotate
            """, localDomain: "ignored.example")
        #expect(configuration.nameservers == [try SocketAddress(ipAddress: "10.96.0.10", port: 53),
                                              try SocketAddress(ipAddress: "fd00::53", port: 53),
                                              try SocketAddress(ipAddress: "10.96.0.11", port: 53)])
        #expect(configuration.searchDomains == ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"])
        #expect(configuration.ndots == 5 && configuration.timeout == .seconds(1) && configuration.attempts == 3)
        #expect(configuration.candidates(for: "a.b") == ["a.b.default.svc.cluster.local", "a.b.svc.cluster.local",
                                                         "a.b.cluster.local", "a.b"])
        #expect(configuration.candidates(for: "a.b.c.d.e.f") == ["a.b.c.d.e.f", "a.b.c.d.e.f.default.svc.cluster.local",
                                                               "a.b.c.d.e.f.svc.cluster.local", "a.b.c.d.e.f.cluster.local"])
        #expect(configuration.candidates(for: "a.b.") == ["a.b"])

        let defaults = ResolverConfiguration(resolvConf: "", localDomain: "corp.example")
        #expect(defaults.nameservers == [try SocketAddress(ipAddress: "127.0.0.1", port: 53)])
        #expect(defaults.searchDomains == ["corp.example"])
        #expect(defaults.ndots == 1 && defaults.timeout == .seconds(5) && defaults.attempts == 2)

        let capped = ResolverConfiguration(resolvConf: "domain a.example\noptions ndots:99 timeout:0 attempts:50")
        #expect(capped.searchDomains == ["a.example"])
        #expect(capped.ndots == 15 && capped.timeout == .seconds(1) && capped.attempts == 5)
    }
}
