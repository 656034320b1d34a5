import Foundation
import Testing
import TestSupport
@testable import Backend

@Suite struct BackendSettingsConfigTests {
    static let now: Int64 = 1_719_964_800_000_000_000   // 2024-07-03T00:00:00Z

    @Test func quickstartSettings() throws {
        let settings = try BackendSettings(.quickstart, now: Self.now)
        #expect(settings.host == "127.0.0.1")
        #expect(settings.port == 3100)
        #expect(settings.authEnabled == false)
        #expect(settings.maxRequestBytes == 4_194_304)
        #expect(settings.storageDirectory == "./data/chunks")
        #expect(settings.indexPrefix == "index_")
        #expect(settings.ingester.chunkEncoding == .snappy)
        #expect(settings.configYAML == BackendConfig.quickstart.renderYAML())
        // Loki's defaults map to the defaults the modules were written with.
        #expect(settings.limits == Limits())
        var ingester = IngesterSettings()
        ingester.chunkEncoding = .snappy
        ingester.wal.directory = "./data/wal"
        ingester.memoryCeiling = MemoryLimit.defaultIngesterCeiling
        #expect(settings.ingester == ingester)
    }

    @Test func everyKeyMapsToItsUnit() throws {
        let config = try parseConfig(ConfigLoaderTests.everyKey).config
        let settings = try BackendSettings(config, now: Self.now)
        #expect(settings.host == "127.0.0.1")
        #expect(settings.port == 3200)
        #expect(settings.authEnabled == false)
        #expect(settings.maxRequestBytes == 8_388_608)
        #expect(settings.storageDirectory == "/srv/chunks")
        #expect(settings.indexPrefix == "index_v2_")
        let limits = settings.limits
        #expect(limits.ingestionRateBytes == 10.5 * 1_048_576)
        #expect(limits.ingestionBurstBytes == 20 * 1_048_576)
        #expect(limits.perStreamRateBytes == 5 * 1_048_576)
        #expect(limits.perStreamBurstBytes == 20 * 1_048_576)
        #expect(limits.maxLineSize == 1_048_576)
        #expect(limits.maxLineSizeTruncate == true)
        #expect(limits.maxLabelNamesPerSeries == 30)
        #expect(limits.maxLabelNameLength == 512)
        #expect(limits.maxLabelValueLength == 4096)
        #expect(limits.rejectOldSamples == false)
        #expect(limits.rejectOldSamplesMaxAge == 14 * 86_400 * 1_000_000_000)
        #expect(limits.creationGracePeriod == 5400 * 1_000_000_000)
        #expect(limits.maxStreamsPerUser == 0)
        #expect(limits.maxEntriesLimitPerQuery == 10_000)
        #expect(limits.maxQueryLength == 0)
        #expect(limits.allowStructuredMetadata == false)
        let ingester = settings.ingester
        #expect(ingester.chunkEncoding == .flate)
        #expect(ingester.blockSize == 131_072)
        #expect(ingester.targetSize == 0)
        #expect(ingester.idlePeriod == 3600 * 1_000_000_000)
        #expect(ingester.maxChunkAge == 5400 * 1_000_000_000)
        #expect(ingester.flushCheckPeriod == .milliseconds(500))
        #expect(ingester.concurrentFlushes == 4)
        #expect(ingester.retainPeriod == 15 * 1_000_000_000)
        #expect(ingester.wal.enabled == false)
        #expect(ingester.wal.directory == "/srv/wal")
        #expect(ingester.wal.checkpointDuration == .seconds(60))
        #expect(ingester.wal.flushOnShutdown == true)
        #expect(ingester.wal.replayMemoryCeiling == 512 << 20)
        #expect(ingester.wal.diskFullThreshold == 0.8)
        #expect(ingester.wal.syncPolicy == .always)
        #expect(ingester.memoryCeiling == 256 << 20)
    }

    @Test func theMemoryCeilingDefaultsToHalfTheCgroupLimit() throws {
        let root = WALSegmentsTests.directory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/memory", withIntermediateDirectories: true)
        #expect(MemoryLimit.cgroup(root: root) == nil)
        try "9223372036854771712\n".write(toFile: root + "/memory/memory.limit_in_bytes", atomically: true, encoding: .utf8)
        #expect(MemoryLimit.cgroup(root: root) == nil)
        try "max\n".write(toFile: root + "/memory.max", atomically: true, encoding: .utf8)
        #expect(MemoryLimit.cgroup(root: root) == nil)
        try "1073741824\n".write(toFile: root + "/memory.max", atomically: true, encoding: .utf8)
        #expect(MemoryLimit.cgroup(root: root) == 1 << 30)
        #expect(MemoryLimit.defaultIngesterCeiling == (MemoryLimit.cgroup() ?? MemoryLimit.physical) / 2)
        #expect(MemoryLimit.defaultIngesterCeiling > 0)
    }

    @Test func walDirectoryFollowsThePathPrefix() throws {
        var config = BackendConfig()
        config.storageConfig.filesystem.directory = "/chunks"
        #expect(try BackendSettings(config, now: Self.now).ingester.wal.directory == "wal")
        config.common.pathPrefix = "/p/"
        #expect(try BackendSettings(config, now: Self.now).ingester.wal.directory == "/p/wal")
        config.ingester.wal.dir = "/explicit"
        #expect(try BackendSettings(config, now: Self.now).ingester.wal.directory == "/explicit")
    }

    @Test func storageDirectoryPrecedence() throws {
        var config = BackendConfig()
        #expect(throws: ConfigError.self) { try BackendSettings(config, now: Self.now) }
        config.common.pathPrefix = "/p"
        #expect(try BackendSettings(config, now: Self.now).storageDirectory == "/p/chunks")
        config.common.pathPrefix = "/p/"
        #expect(try BackendSettings(config, now: Self.now).storageDirectory == "/p/chunks")
        config.common.storage.filesystem.chunksDirectory = "/common"
        #expect(try BackendSettings(config, now: Self.now).storageDirectory == "/common")
        config.storageConfig.filesystem.directory = "/explicit"
        #expect(try BackendSettings(config, now: Self.now).storageDirectory == "/explicit")
    }

    @Test func missingStorageDirectorySaysWhatToSet() {
        do {
            _ = try BackendSettings(BackendConfig(), now: Self.now)
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "storage_config.filesystem.directory: no storage directory configured: set storage_config.filesystem.directory, common.storage.filesystem.chunks_directory or common.path_prefix")
        }
    }

    @Test func indexPrefixOfThePeriodInForceToday() throws {
        var config = BackendConfig.quickstart
        func period(_ y: Int, _ m: Int, _ d: Int, _ prefix: String) -> BackendConfig.PeriodConfig {
            .init(from: CalendarDay(year: y, month: m, day: d), store: "tsdb", objectStore: "filesystem",
                  index: .init(prefix: prefix))
        }
        config.schemaConfig.configs = [period(2023, 1, 1, "a_"), period(2024, 7, 3, "b_"), period(2030, 1, 1, "c_")]
        #expect(try BackendSettings(config, now: Self.now).indexPrefix == "b_")
        #expect(try BackendSettings(config, now: Self.now - 1).indexPrefix == "a_")
        config.schemaConfig.configs = [period(2030, 1, 1, "future_")]
        #expect(try BackendSettings(config, now: Self.now).indexPrefix == "future_")
        config.schemaConfig.configs = []
        #expect(try BackendSettings(config, now: Self.now).indexPrefix == "index_")
    }

    @Test func otherObjectStoresAreRefused() {
        var config = BackendConfig.quickstart
        config.schemaConfig.configs[0].objectStore = "gcs"
        do {
            _ = try BackendSettings(config, now: Self.now)
            Issue.record("expected an error")
        } catch {
            #expect(error.description == #"schema_config.configs[0].object_store: object store "gcs" is not supported; this version stores chunks and index on the local filesystem (object_store: filesystem) or in S3 (s3 or aws)"#)
        }
    }

    @Test func integrationTestConfigWorks() throws {
        // The configuration the binary tests start the backend with.
        let (config, warnings) = try parseConfig("""
            auth_enabled: false
            server:
              http_listen_port: 0
            common:
              path_prefix: ${DATA}
              replication_factor: 1
            storage_config:
              filesystem:
                directory: ${DATA}/chunks
            ingester:
              chunk_encoding: snappy
            """, expandEnv: true, environment: ["DATA": "/tmp/x"])
        #expect(warnings.isEmpty)
        let settings = try BackendSettings(config, now: Self.now)
        #expect(settings.port == 0)
        #expect(settings.storageDirectory == "/tmp/x/chunks")
        #expect(settings.configYAML.contains("chunk_encoding: snappy"))
    }
}

/// `object_store: s3` with Loki's `storage_config.aws` / `common.storage.s3` keys.
@Suite struct S3SettingsConfigTests {
    static let yaml = """
        schema_config:
          configs:
            - from: 2024-01-01
              store: tsdb
              object_store: s3
              schema: v13
              index: {prefix: index_, period: 24h}
        storage_config:
          aws:
            endpoint: https://minio.example:9000/
            region: eu-west-1
            bucketnames: " a, b ,c"
            access_key_id: AKIA1
            secret_access_key: s3cr3t
            session_token: t0k3n
            s3forcepathstyle: true
            storage_class: STANDARD_IA
            sse: {type: SSE-KMS, kms_key_id: alias/loki, kms_encryption_context: '{"k":"v"}'}
            backoff_config: {min_period: 50ms, max_period: 2s, max_retries: 7}
            http_config: {idle_conn_timeout: 45s, response_header_timeout: 10s, insecure_skip_verify: true, ca_file: /ca.pem}
            sts_endpoint: https://sts.example
            signature_version: v4
        """

    @Test func everyKeyMapsToTheStore() throws {
        let (config, warnings) = try parseConfig(Self.yaml)
        #expect(warnings.map(\.message) == ["storage_config.aws.signature_version is a Loki setting this version does not use (ignored)"])
        let settings = try BackendSettings(config, now: BackendSettingsConfigTests.now)
        let s3 = try #require(settings.s3)
        #expect(s3.scheme == "https" && s3.endpoint == "minio.example:9000" && s3.region == "eu-west-1")
        #expect(s3.buckets == ["a", "b", "c"])
        #expect(s3.credentials == .fixed(.init(accessKeyID: "AKIA1", secretAccessKey: "s3cr3t", sessionToken: "t0k3n"),
                                         origin: "storage_config.aws"))
        #expect(s3.http.idleConnectionTimeout == .seconds(45) && s3.http.responseHeaderTimeout == .seconds(10))
        #expect(s3.http.insecureSkipVerify && s3.http.caFile == "/ca.pem")
        #expect(s3.forcePathStyle && s3.storageClass == "STANDARD_IA")
        #expect(s3.encryption == .kms(keyID: "alias/loki", context: #"{"k":"v"}"#))
        #expect(s3.backoff == .dskit(min: .milliseconds(50), max: .seconds(2), maxAttempts: 7))
        #expect(settings.storageDirectory == "")
        // /config masks the secrets and reads back to the same store.
        #expect(!settings.configYAML.contains("s3cr3t") && !settings.configYAML.contains("t0k3n"))
        var again = try parseConfig(settings.configYAML).config
        again.storageConfig.aws.secretAccessKey = "s3cr3t"
        again.storageConfig.aws.sessionToken = "t0k3n"
        #expect(again == config)
    }

    @Test func credentialsComeFromTheEnvironmentWhenTheConfigHasNone() throws {
        var config = try parseConfig(Self.yaml).config
        config.storageConfig.aws.accessKeyID = ""
        config.storageConfig.aws.secretAccessKey = ""
        config.storageConfig.aws.sessionToken = ""
        let settings = try BackendSettings(config, now: BackendSettingsConfigTests.now,
                                           environment: ["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "e"])
        #expect(settings.s3?.credentials == .fixed(.init(accessKeyID: "AKIAENV", secretAccessKey: "e"),
                                                   origin: "the environment (AWS_ACCESS_KEY_ID)"))
        #expect(settings.s3?.credentialsNote == "storage_config.aws has no access_key_id and secret_access_key")
        do {
            _ = try BackendSettings(config, now: BackendSettingsConfigTests.now,
                                    environment: ["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_ROLE_ARN": "arn:aws:iam::1:role/r"])
            Issue.record("expected an error")
        } catch {
            // Every source is named with the reason it had nothing.
            #expect(error.description == "storage_config.aws.access_key_id: no S3 credentials: storage_config.aws has "
                    + "no access_key_id and secret_access_key; only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                    + "is set; only one of AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE is set")
        }
    }

    @Test func theDiskCacheSitsUnderThePathPrefixUnlessSetOrTurnedOff() throws {
        var config = try parseConfig(Self.yaml).config
        #expect(try BackendSettings(config, now: BackendSettingsConfigTests.now).diskCache == nil)
        config.common.pathPrefix = "/var/loki"
        #expect(try BackendSettings(config, now: BackendSettingsConfigTests.now).diskCache
                == .init(directory: "/var/loki/cache", maxBytes: 1024 << 20))
        let (set, _) = try parseConfig(Self.yaml + "\n  disk_cache: {directory: /cache, max_size_mb: 10}\n")
        #expect(try BackendSettings(set, now: BackendSettingsConfigTests.now).diskCache
                == .init(directory: "/cache", maxBytes: 10 << 20))
        // A cache directory holding the WAL (it would delete WAL segments) is refused.
        var overlapping = config
        overlapping.storageConfig.diskCache.directory = "/var/loki/"
        #expect(throws: ConfigError.self) { try BackendSettings(overlapping, now: BackendSettingsConfigTests.now) }
        config.storageConfig.diskCache.maxSizeMB = 0
        #expect(try BackendSettings(config, now: BackendSettingsConfigTests.now).diskCache == nil)
    }

    @Test func webIdentityComesLastAndAsksTheConfiguredSTS() throws {
        var config = try parseConfig(Self.yaml).config
        config.storageConfig.aws.accessKeyID = ""
        config.storageConfig.aws.secretAccessKey = ""
        let environment = ["AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/loki", "AWS_WEB_IDENTITY_TOKEN_FILE": "/t",
                           "AWS_ROLE_SESSION_NAME": "pod-1"]
        let settings = try BackendSettings(config, now: BackendSettingsConfigTests.now, environment: environment)
        #expect(settings.s3?.credentials == .webIdentity(.init(
            roleARN: "arn:aws:iam::123456789012:role/loki", tokenFile: "/t", sessionName: "pod-1",
            stsEndpoint: "https://sts.example")))
        #expect(settings.s3?.credentialsNote.hasSuffix("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set") == true)
        // Without sts_endpoint: the region's STS.
        config.storageConfig.aws.stsEndpoint = ""
        let regional = try BackendSettings(config, now: BackendSettingsConfigTests.now, environment: environment)
        guard case .webIdentity(let identity)? = regional.s3?.credentials else {
            Issue.record("expected web identity")
            return
        }
        #expect(identity.stsEndpoint == "https://sts.eu-west-1.amazonaws.com")
    }

    @Test func theURLFormFillsInWhatTheOtherKeysLeaveOut() throws {
        let yaml = """
            schema_config:
              configs:
                - {from: 2024-01-01, store: tsdb, object_store: s3, schema: v13, index: {prefix: index_, period: 24h}}
            storage_config:
              aws:
                s3: s3://AKIA9:se%2Fcr%40et@minio.local:9000/loki-chunks
            """
        let (config, _) = try parseConfig(yaml)
        let s3 = try #require(try BackendSettings(config, now: BackendSettingsConfigTests.now).s3)
        #expect(s3.scheme == "http" && s3.endpoint == "minio.local:9000" && s3.buckets == ["loki-chunks"])
        #expect(s3.forcePathStyle)
        #expect(s3.credentials == .fixed(.init(accessKeyID: "AKIA9", secretAccessKey: "se/cr@et"),
                                         origin: "storage_config.aws"))
        let rendered = try BackendSettings(config, now: BackendSettingsConfigTests.now).configYAML
        #expect(rendered.contains(#"s3: "s3://AKIA9:********@minio.local:9000/loki-chunks""#))
        #expect(!rendered.contains("se%2Fcr"))
        // A region as the host; bucketnames given beside the URL wins.
        var regional = config
        regional.storageConfig.aws.url = "s3://eu-central-1/ignored"
        regional.storageConfig.aws.bucketNames = "b1,b2"
        let s3r = try #require(try BackendSettings(regional, now: BackendSettingsConfigTests.now,
                                                   environment: ["AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "B"]).s3)
        #expect(s3r.scheme == "https" && s3r.endpoint == "s3.eu-central-1.amazonaws.com" && s3r.region == "eu-central-1")
        #expect(s3r.buckets == ["b1", "b2"])
    }

    @Test func s3URLsParseAnyTextWithoutATrap() {
        #expect(S3URL("s3://k:s@h.x/b") == S3URL("s3://k:s@h.x/b/"))
        for bad in ["", "s3://", "s3:///b", "http://h.x/b", "s3://h.x", "s3://h.x/a/b", "s3://k:%zz@h.x/b", "s3://h x/b"] {
            #expect(S3URL(bad) == nil, "\(bad)")
        }
        var random = SeededRandom(seed: FuzzBudget.seed(15))
        let alphabet = Array("s3:/@%.aZ9-_ ?#é\u{0}").map(String.init)
        for _ in 0..<FuzzBudget.scaled(20_000) {
            let text = "s3://" + (0..<random.int(0...24)).map { _ in alphabet[random.int(0...alphabet.count - 1)] }.joined()
            if let url = S3URL(text) {
                #expect(!url.bucket.isEmpty && (url.endpoint.isEmpty != url.region.isEmpty))
            }
            let masked = S3URL.masked(text, mask: "***")
            if let url = S3URL(text), !url.secretAccessKey.isEmpty, !url.secretAccessKey.contains("***") {
                #expect(!masked.contains(":" + url.secretAccessKey + "@"))
            }
        }
    }

    @Test func commonStorageS3IsUsedWhenStorageConfigAWSIsEmpty() throws {
        let yaml = """
            schema_config:
              configs:
                - {from: 2024-01-01, store: tsdb, object_store: aws, schema: v13, index: {prefix: index_, period: 24h}}
            common:
              storage:
                s3:
                  bucketnames: " a, b ,c"
                  access_key_id: AKIA1
                  secret_access_key: s3cr3t
            """
        let (config, _) = try parseConfig(yaml)
        #expect(config.common.storage.s3.bucketNames == " a, b ,c")
        #expect(try BackendSettings(config, now: BackendSettingsConfigTests.now).s3?.buckets == ["a", "b", "c"])
    }

    @Test func aSecretIsNeverQuotedInAWarning() throws {
        let (config, warnings) = try parseConfig(
            "storage_config:\n  aws:\n    secret_access_key: p${ss}zq9\n    session_token: t${o}xv7\n")
        #expect(config.storageConfig.aws.secretAccessKey == "p${ss}zq9")
        #expect(warnings.count == 2)
        #expect(warnings.allSatisfy { !$0.message.contains("zq9") && !$0.message.contains("xv7") })
        #expect(warnings.first?.message.hasPrefix("storage_config.aws.secret_access_key is a secret holding ${, taken as written") == true)
    }

    @Test func aBrokenURLFormAndMixedStoresAreRefused() throws {
        #expect(throws: ConfigError.self) {
            try parseConfig("storage_config:\n  aws:\n    s3: s3://key:secret@us-east-1\n")
        }
        var config = try parseConfig(Self.yaml).config
        config.schemaConfig.configs.append(.init(from: CalendarDay(year: 2025, month: 1, day: 1), store: "tsdb",
                                                 objectStore: "filesystem"))
        config.common.pathPrefix = "/p"
        do {
            _ = try BackendSettings(config, now: BackendSettingsConfigTests.now)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("periods on different object stores (filesystem, s3)"))
        }
    }
}
