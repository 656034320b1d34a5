/// `config/local.alloy`, built into the binary so that `estuary` with no arguments needs no file. A test checks
/// that the two stay identical.
public enum QuickstartConfig {
    public static let localAlloy = #"""
// The quickstart's agent: OTLP/HTTP logs in on 127.0.0.1:4318, batched, converted to Loki entries and written to
// the backend of the same process on 127.0.0.1:3100. `estuary` with no arguments runs exactly this file (it is
// built into the binary); `estuary run config/local.alloy` runs it on its own.

otelcol.receiver.otlp "default" {
	http {
		endpoint = "127.0.0.1:4318"
	}

	output {
		logs = [otelcol.processor.batch.default.input]
	}
}

otelcol.processor.batch "default" {
	output {
		logs = [otelcol.exporter.loki.default.input]
	}
}

otelcol.exporter.loki "default" {
	forward_to = [loki.write.local.receiver]
}

loki.write "local" {
	endpoint {
		url = "http://127.0.0.1:3100/loki/api/v1/push"
	}
}

"""#
}
