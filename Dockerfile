# Podometer's image: a static binary on a distroless base, as non-root.
# `make build` builds the same binary (CGO_ENABLED=0, -trimpath).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd/ cmd/
COPY pkg/ pkg/
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=${VERSION}" \
    -o /out/podometer ./cmd/adapter

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/podometer /podometer
USER 65532:65532
ENTRYPOINT ["/podometer"]
