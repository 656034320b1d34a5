/// Alloy configurations as Alloy's documentation writes them, for the parser, formatter and fuzz tests.
enum AlloyCorpus {
    static let otlpToLoki = """
        // Receive OTLP, batch, and send logs to Loki.
        otelcol.receiver.otlp "default" {
          http {}
          grpc {
            endpoint = "0.0.0.0:4317"
          }

          output {
            metrics = [otelcol.processor.batch.default.input]
            logs    = [otelcol.processor.batch.default.input]
            traces  = [otelcol.processor.batch.default.input]
          }
        }

        otelcol.processor.batch "default" {
          timeout = "5s"
          send_batch_size = 8192

          output {
            logs = [otelcol.exporter.loki.default.input]
          }
        }

        otelcol.exporter.loki "default" {
          forward_to = [loki.write.local.receiver]
        }

        loki.write "local" {
          endpoint {
            url = "http://loki:3100/loki/api/v1/push"
            basic_auth {
              username = sys.env("LOKI_USERNAME")
              password = sys.env("LOKI_PASSWORD")
            }
          }
          external_labels = { cluster = "prod", "k8s.namespace" = constants.hostname }
        }

        """

    static let sourceAPI = """
        loki.source.api "loki_push_api" {
            http {
                listen_address = "0.0.0.0"
                listen_port = 9999
            }
            forward_to = [
                loki.write.local.receiver,
            ]
            labels = {
                forwarded = "true",
            }
        }

        """

    static let process = """
        loki.process "local" {
          forward_to = [loki.write.onprem.receiver]

          stage.json {
              expressions = { log = "", ts = "timestamp" }
          }

          stage.timestamp {
              source = "ts"
              format = "RFC3339"
          }

          stage.json {
              source      = "log"
              expressions = {
                  is_secret = "",
                  level     = "",
                  log_line  = "message",
              }
          }

          stage.drop {
              source = "is_secret"
              value  = "true"
          }

          stage.labels {
              values = {
                level = "",
              }
          }

          stage.regex {
              expression = `^(?P<time>\\S+) (?P<level>\\w+) (?P<msg>.*)$`
          }

          stage.output {
              source = "log_line"
          }
        }

        """

    static let relabel = """
        discovery.relabel "keep_backend_only" {
          targets = [
            { "__meta_foo" = "foo", "__address__" = "localhost", "instance" = "one",   "app" = "backend"  },
            { "__meta_bar" = "bar", "__address__" = "localhost", "instance" = "two",   "app" = "database" },
            { "__meta_baz" = "baz", "__address__" = "localhost", "instance" = "three", "app" = "frontend" },
          ]

          rule {
            source_labels = ["__address__", "instance"]
            separator     = "/"
            target_label  = "destination"
            action        = "replace"
          }

          rule {
            source_labels = ["app"]
            action        = "keep"
            regex         = "backend"
          }
        }

        """

    static let expressions = """
        /* Block comment
           spanning lines. */
        local.file "token" {
          filename  = "/var/run/secrets/token" // trailing comment
          is_secret = true
        }

        prometheus.remote_write "default" {
          endpoint {
            url = string.format("https://%s:%d/api/v1/write", "mimir", 443)
            headers = {
              "X-Scope-OrgID" = coalesce(sys.env("TENANT"), "anonymous"),
            }
            queue_config {
              capacity = 2 ^ 3 ^ 2
              max_shards = -(1 + 2) * 3 % 4
              min_backoff = 1.5e-3 * 1000
            }
            write_relabel_config {
              regex = !(1 < 2 && 3 >= 4 || "a" != "b")
            }
          }
          external_labels = { first = array.concat(["a"], ["b"])[0] == "a", nothing = null }
        }

        """

    static let all: [(String, String)] = [
        ("otlp_to_loki", otlpToLoki), ("source_api", sourceAPI), ("process", process), ("relabel", relabel),
        ("expressions", expressions),
    ]
}
