# Belladonna: `make help` lists the targets.
GO        ?= go
BIN       ?= bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X github.com/belladonna-dev/belladonna/internal/version.Version=$(VERSION)
TESTFLAGS ?= -timeout 20m
TAGS      ?=
FUZZTIME  ?= 20s

.PHONY: help build run test lint bench generate fuzz opa clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'

build: ## build bin/belladonna (TAGS=cloudkms links the AWS, GCP and Azure KMS providers)
	$(GO) build -tags "$(TAGS)" -ldflags "$(LDFLAGS)" -o $(BIN)/belladonna ./cmd/belladonna

run: build ## serve the embedded policy library on 127.0.0.1:8181 (the sidecar)
	$(BIN)/belladonna serve

test: ## gofmt check, go vet, and every test (Go, Rego library, validator rules, CLI scripts, differential vs stock OPA)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags cloudkms ./cmd/belladonna
	$(GO) test $(TESTFLAGS) ./...

lint: build ## gofmt, go vet, and belladonna's own validator rules over the shipped library
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(BIN)/belladonna validate --fail-on warning policies/

BENCH_DURATION ?= 3s
BENCH_OUT ?= bench-results.json

bench: ## the harness (bench/: belladonna serve vs stock OPA, plain and -O=1, at concurrency 1, 8, 64; BASELINE_FILE/BASELINE_THRESHOLD compare), then Go benchmarks: engine, IR VM, JSON input parsing vs OPA; impact replay; bundle build vs opa build; audit log
	$(GO) run ./bench -duration $(BENCH_DURATION) -out $(BENCH_OUT)
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./engine/ ./engine/vm/ ./engine/jsonast/ ./server/
	$(GO) test -run '^$$' -bench 'Replay100k' -benchtime 1x ./validators/impact/
	$(GO) test -run '^$$' -bench 'Build' -benchtime 3x ./bundles/
	$(GO) test -run '^$$' -bench 'AppendDurable|AppendAtRate' -benchtime 600000x ./audit/
	$(GO) test -run '^$$' -bench 'Verify|ProveInclusion' ./audit/

fuzz: ## run each fuzz target for FUZZTIME
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

generate: ## regenerate generated code (go generate) and fail if the tree changed
	$(GO) generate ./...
	git diff --exit-code

opa: ## build stock OPA from the pinned module version into bin/opa (for comparisons)
	$(GO) build -o $(BIN)/opa github.com/open-policy-agent/opa

clean: ## remove build output
	rm -rf $(BIN)
