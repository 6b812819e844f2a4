# Podometer's commands. `make demo` and `make test` do all their own set-up:
# they build the control-plane binaries they need once and cache them under
# $(PODOMETER_CACHE) (default: the user cache dir, ~/.cache/podometer).

GO        ?= go
BIN       := $(CURDIR)/bin
PODOMETER := $(BIN)/podometer
E2E_TIMEOUT ?= 60m

export PODOMETER_BIN := $(PODOMETER)

.PHONY: all build install demo test unit check-binary e2e e2e-summary fuzz bench bench-micro bench-e2e reliability lint clean

all: build

build: $(PODOMETER)

# Static, like the image's binary; always rebuilt, go's cache keeps it fast.
$(PODOMETER): FORCE
	CGO_ENABLED=0 $(GO) build -trimpath -o $@ ./cmd/adapter

FORCE:

## install: the podometer binary into $(GOBIN) (default: $(go env GOPATH)/bin)
GOBIN ?= $(shell $(GO) env GOPATH)/bin
install:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(GOBIN)/podometer ./cmd/adapter

## demo: a local control plane with kwok nodes and pods, Podometer registered; runs until interrupted
demo: build
	$(GO) run ./test/demo $(ARGS)

## test: unit tests, the binary check, then the end-to-end tests against a real control plane
test: unit check-binary e2e e2e-summary

## check-binary: the binary the Dockerfile ships is static and starts
check-binary: build
	@command -v readelf >/dev/null || { echo "check-binary needs readelf (binutils)" >&2; exit 1; }
	@if readelf -d $(PODOMETER) | grep -q NEEDED; then echo "$(PODOMETER) is dynamically linked" >&2; exit 1; fi
	$(PODOMETER) --help >/dev/null
	@echo "$(PODOMETER): static, --help works"

unit:
	$(GO) vet ./...
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v '/test/e2e$$')

e2e: build
	$(GO) test -count=1 -timeout $(E2E_TIMEOUT) -v ./test/e2e/

## e2e-summary: the resource-metrics tests again, metrics.k8s.io fed by /stats/summary (with ephemeral-storage)
E2E_SUMMARY_TESTS ?= TestKubectlTop|TestHPA|TestSelectorsThroughTheAggregator|TestFastPodListMatchesGeneric|TestEphemeralStorageHPA|TestKubeletEndpointFaultIsolation
e2e-summary: build
	PODOMETER_E2E_RESOURCE_ENDPOINT=summary $(GO) test -count=1 -timeout $(E2E_TIMEOUT) -v -run '$(E2E_SUMMARY_TESTS)' ./test/e2e/

## fuzz: run the kubelet decoders', selector-matcher and Prometheus-answer fuzzers for a while each
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(FUZZTIME) ./pkg/scrape/
	$(GO) test -run '^$$' -fuzz FuzzSummaryDecode -fuzztime $(FUZZTIME) ./pkg/scrape/
	$(GO) test -run '^$$' -fuzz FuzzCadvisorDecode -fuzztime $(FUZZTIME) ./pkg/scrape/
	$(GO) test -run '^$$' -fuzz FuzzMatchers -fuzztime $(FUZZTIME) ./pkg/naming/
	$(GO) test -run '^$$' -fuzz FuzzFastVector -fuzztime $(FUZZTIME) ./pkg/promclient/
	$(GO) test -run '^$$' -fuzz FuzzSeriesDecode -fuzztime $(FUZZTIME) ./pkg/promclient/

## bench: Podometer beside metrics-server (pinned, built into the cache) on a kubelet farm: scrape
## cost (also with /stats/summary and /metrics/cadvisor), list latency, custom metrics against
## Prometheus, freshness; S5: discovery at 100,000 series beside prometheus-adapter (pinned, built
## into the cache) and the bare series requests; and S6: three HPAs under the real HPA controller
## against bursts; writes docs/BENCHMARKS.md, docs/bench/ (plots, results, profiles). About 100
## minutes; BENCH_* variables shrink it, BENCH_SCENARIOS=S5 runs one scenario and keeps the others'
## figures, BENCH_S5_PODS=20000 is S5 at 1,000,000 series (see -h).
bench: build
	$(GO) run ./test/bench/cmd/bench

## reliability: the kubelet-fault scenario (220 farm nodes, one in ten faulty with its own fault on
## every endpoint) beside metrics-server on the real control plane; writes docs/RELIABILITY.md and
## docs/reliability/results.json. About 15 minutes; RELIABILITY_* variables shrink it (see -h).
reliability: build
	$(GO) run ./test/bench/cmd/reliability

## bench-micro: decoding, storage and resource-source benchmarks, and the kubelet decoder beside
## textparse and expfmt (test/bench/decodebench, a module of its own)
bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem ./pkg/...
	cd test/bench/decodebench && $(GO) test -bench . -benchmem .

## bench-e2e: a Pods metric over 5,000 pods against real Prometheus, beside the raw query
BENCHTIME ?= 30x
bench-e2e: build
	$(GO) test -run '^$$' -bench BenchmarkPodsMetricBySelector -benchtime $(BENCHTIME) -timeout 30m ./test/e2e/

lint:
	$(GO) vet ./...
	@test -z "$$(gofmt -l . | tee /dev/stderr)"

clean:
	rm -rf $(BIN)
