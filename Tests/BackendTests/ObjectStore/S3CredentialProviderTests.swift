import Synchronization
import Testing
import Wire

@testable import Backend

/// Assumed-role keys are fetched once however many ask, replaced before they expire, and kept while a refresh
/// fails and they are still valid.
@Suite struct S3CredentialProviderTests {
    final class FakeSTS: Sendable {
        let calls = Atomic<Int>(0)
        let failing = Atomic<Bool>(false)
        let lifetime: Int64

        init(lifetime: Int64) { self.lifetime = lifetime }

        /// Keys named after the call that made them, expiring `lifetime` after `issuedAt`.
        func fetch(issuedAt: Int64) throws(S3Failure) -> S3CredentialProvider.Expiring {
            let call = calls.add(1, ordering: .relaxed).newValue
            if failing.load(ordering: .relaxed) {
                throw S3Failure(operation: "AssumeRoleWithWebIdentity", bucket: "", key: "", status: 503, code: "",
                                message: "unavailable")
            }
            return (.init(accessKeyID: "ASIA\(call)", secretAccessKey: "s", sessionToken: "t"), issuedAt + lifetime)
        }
    }

    @Test func fixedKeysAreNeverFetched() async throws {
        let provider = S3CredentialProvider(fixed: .init(accessKeyID: "AKIA", secretAccessKey: "s"))
        #expect(try await provider.credentials(now: 0).accessKeyID == "AKIA")
    }

    @Test func concurrentRequestsShareOneFetchAndKeysAreReplacedBeforeExpiry() async throws {
        let sts = FakeSTS(lifetime: 3600)
        let clock = Atomic<Int64>(1_000)
        let provider = S3CredentialProvider(refreshWindow: 300) { () throws(S3Failure) in
            try sts.fetch(issuedAt: clock.load(ordering: .relaxed))
        }
        let keys = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<50 { group.addTask { try await provider.credentials(now: 1_000).accessKeyID } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(keys == ["ASIA1"])
        #expect(sts.calls.load(ordering: .relaxed) == 1)
        // Until five minutes before expiry (at 4600) the same keys; then new ones.
        #expect(try await provider.credentials(now: 4_299).accessKeyID == "ASIA1")
        clock.store(4_301, ordering: .relaxed)
        #expect(try await provider.credentials(now: 4_301).accessKeyID == "ASIA2")
        #expect(try await provider.credentials(now: 4_400).accessKeyID == "ASIA2")
        #expect(sts.calls.load(ordering: .relaxed) == 2)
    }

    @Test func aFailedRefreshKeepsValidKeysAndFailsOnceTheyExpire() async throws {
        let sts = FakeSTS(lifetime: 1000)
        let provider = S3CredentialProvider(refreshWindow: 300) { () throws(S3Failure) in try sts.fetch(issuedAt: 0) }
        #expect(try await provider.credentials(now: 0).accessKeyID == "ASIA1")
        sts.failing.store(true, ordering: .relaxed)
        // In the refresh window STS fails: the old keys still work, and each request tries STS again.
        #expect(try await provider.credentials(now: 800).accessKeyID == "ASIA1")
        #expect(try await provider.credentials(now: 900).accessKeyID == "ASIA1")
        #expect(sts.calls.load(ordering: .relaxed) == 3)
        do {
            _ = try await provider.credentials(now: 1000)
            Issue.record("expected a failure once the keys expired")
        } catch {
            #expect(error.status == 503 && error.retryable)
            #expect(error.description == "AssumeRoleWithWebIdentity: 503 unavailable")
        }
        sts.failing.store(false, ordering: .relaxed)
        #expect(try await provider.credentials(now: 1000).accessKeyID == "ASIA5")
    }
}
