# syntax=docker/dockerfile:1
# The estuary image the Kubernetes manifests in config/kubernetes run (they call it estuary:latest):
#
#   docker build -t estuary:latest .
#
# Stage 1 builds a release binary with Swift 6.3; the Swift standard library and Foundation are linked statically,
# so stage 2 needs only glibc, libstdc++, zlib and, for loki.source.journal, libsystemd (loaded at run time).
FROM swift:6.3-noble AS build
WORKDIR /src
# Package.resolved when there is one (it is not committed): the versions last resolved here.
COPY Package.swift Package.resolve[d] ./
COPY Sources Sources
# SwiftPM loads every target of the manifest, test targets included, even to build one product.
COPY Tests Tests
RUN --mount=type=cache,target=/src/.build \
    swift build -c release --product estuary --static-swift-stdlib \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/estuary" /out/estuary

FROM ubuntu:24.04
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libsystemd0 zlib1g tzdata \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/estuary /usr/local/bin/estuary
COPY config/*.alloy config/*.yaml /etc/estuary/
# Not root by default (the gateway and the backend run so); the node agent's DaemonSet asks for root explicitly,
# because the logs and the journal it reads on the node are root's.
USER 65532:65532
EXPOSE 3100 4318 12345
ENTRYPOINT ["estuary"]
