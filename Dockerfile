# syntax=docker/dockerfile:1
#
# The Doorstep server as a small image (docs/operations.md, "Containers"):
# a static binary (no cgo: the SQLite driver is pure Go) on distroless
# static, running as a non-root user, its data and secrets in two volumes.
#
#   docker build -t doorstep --build-arg VERSION=$(git describe --always) .
#   docker compose up -d        # with docker-compose.yml beside this file

# ---- build: compile the one binary ----------------------------------------
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
        -o /out/doorstep ./cmd/doorstep
# The data and secrets folders, made here (the final image has no shell):
# mode 0700, since the server refuses a folder others can read. A named
# volume mounted on them takes their owner and mode the first time.
RUN mkdir -p /out/var/lib/doorstep /out/var/lib/doorstep-secrets \
    && chmod 0700 /out/var/lib/doorstep /out/var/lib/doorstep-secrets

# ---- run: distroless static, user nonroot (65532) -------------------------
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/doorstep /doorstep
COPY --from=build --chown=65532:65532 /out/var/lib/ /var/lib/
USER 65532:65532
# Every flag's environment twin (docs/operations.md): the API on every
# interface of the container (publish the port, or put a proxy in front);
# the metrics on their own port, reachable only on the container network
# unless published; the SQLite database in the data volume; the token and
# visit signing keys, generated at the first start, in a volume of their
# own, apart from the data and its back-ups; JSON logs for a collector.
ENV DOORSTEP_ADDR=0.0.0.0:8080 \
    DOORSTEP_METRICS_ADDR=0.0.0.0:9464 \
    DOORSTEP_DATA=/var/lib/doorstep/data \
    DOORSTEP_SECRETS=/var/lib/doorstep-secrets/keys \
    DOORSTEP_LOG_FORMAT=json
EXPOSE 8080 9464
VOLUME ["/var/lib/doorstep", "/var/lib/doorstep-secrets"]
# No curl in a distroless image: the binary probes itself. With
# --tls-cert/--tls-key, use --url https://127.0.0.1:8080/readyz --insecure.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/doorstep", "health", "--url", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["/doorstep", "server"]
