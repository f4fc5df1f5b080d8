# syntax=docker/dockerfile:1
#
# KeyBox in a container: a static binary on a distroless base (no shell, no
# package manager), run as an unprivileged user, with its data in /data.
#
#   docker build -t keybox \
#     --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg REVISION="$(git rev-parse HEAD)" .
#   docker run -d -p 5000:5000 -v keybox-data:/data keybox
#
# The embedded SQLite database, and the JWT and key-encryption secrets made
# at first start, live in the /data volume: back it up (docs/operations.md).
# With PostgreSQL set KEYBOX_DATABASE_URL, KEYBOX_JWT_SECRET and
# KEYBOX_SECRET_KEY instead (see deploy/compose).

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Modules first, so that a change to the code does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# .git is not sent to the build (.dockerignore), so the toolchain cannot
# record the commit: the version and revision come from build arguments.
ARG VERSION=""
ARG REVISION=""
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/keyboxhq/keybox/internal/buildinfo.version=${VERSION} -X github.com/keyboxhq/keybox/internal/buildinfo.revision=${REVISION}" \
      -o /out/keybox ./cmd/keybox \
 && /out/keybox version \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=""
ARG REVISION=""
LABEL org.opencontainers.image.title="KeyBox" \
      org.opencontainers.image.description="Self-hosted software licensing server" \
      org.opencontainers.image.source="https://github.com/keyboxhq/keybox" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /out/keybox /usr/local/bin/keybox
# An empty /data owned by the image's user: a new named volume starts as a
# copy of it, so the server can write there without running as root (a
# directory bind-mounted there must be writable by uid 65532).
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV KEYBOX_DATABASE_URL=sqlite:///data/keybox.db \
    KEYBOX_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 5000
# The image has no curl: the binary asks its own /healthz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/keybox", "healthcheck"]
# On SIGTERM requests in flight may take up to 20 s to finish: give
# `docker stop` more than its default 10 s (docker stop -t 30).
ENTRYPOINT ["/usr/local/bin/keybox"]
CMD ["serve"]
