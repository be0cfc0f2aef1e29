# Chronus build, run and test entry points. `make run` and `make test` work on a
# fresh Debian machine: `deps` installs whatever system package is missing.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
BIN := bin/chronus

# System packages: build (cgo PortAudio, RtMidi), real-time test device (jackd2),
# outside OSC client (liblo-tools), WAV inspection (sox).
DEBS := portaudio19-dev pkg-config g++ libasound2-dev jackd2 liblo-tools sox
# Only the benchmark compares against FluidSynth.
BENCH_DEBS := fluidsynth timgm6mb-soundfont

# Packages whose tests are pure unit tests: they run under the race detector
# and must build without cgo.
PURE := ./dsp/... ./engine/proto/... ./recorder/... ./controllers/... ./mapping/... ./maps/...

.PHONY: all deps bench-deps build run test unit nocgo vet fmt fmt-check bench soak failover clean

all: build

define install_missing
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing missing system packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

deps:
	$(call install_missing,$(DEBS))

bench-deps: deps
	$(call install_missing,$(BENCH_DEBS))

build: deps
	$(GO) build -o $(BIN) ./cmd/chronus

run: build
	./$(BIN) run $(ARGS)

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

fmt-check:
	@bad=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$bad" ]; then echo "gofmt would change: $$bad"; exit 1; fi

# nocgo proves the pure packages never grow a cgo dependency.
nocgo:
	CGO_ENABLED=0 $(GO) test -count=1 $(PURE)

# unit: the race detector on every pure package.
unit:
	$(GO) test -race -count=1 $(PURE)

# test: everything. Process and device tests run on a normal binary, one
# package at a time (-p 1): the race detector slows real-time rendering ~13x.
test: deps fmt-check vet nocgo unit
	$(GO) test -count=1 -p 1 ./...

bench: bench-deps
	$(GO) test -run '^$$' -bench . -benchmem ./dsp/... ./engine/... ./recorder/... ./controllers/... ./mapping/...
	$(GO) test -run '^$$' -bench 'RecordingSoak|OSCThroughput|OSCLatency' -benchtime 1x ./cmd/chronus/
	$(GO) run ./cmd/chronus-bench

# soak: the long runs: 60 s on the JACK dummy device with 0 underruns,
# null-device drift over 60 s, a 10-minute recording under a steady OSC load
# with 0 dropped frames; bench runs them for 5 s.
soak: deps
	CHRONUS_SOAK=60s $(GO) test -run '^$$' -bench 'JackDummy|NullDrift' -benchtime 1x ./engine/...
	CHRONUS_SOAK=10m $(GO) test -run '^$$' -bench 'RecordingSoak' -benchtime 1x -timeout 30m ./cmd/chronus/

# failover: a demonstration on the null device; kills and stops workers while
# a phrase plays and prints what it measured.
failover: deps
	$(GO) run ./cmd/chronus-failover

clean:
	rm -rf bin
