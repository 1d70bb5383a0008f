# snowhub: `make run` starts the demo, `make test` runs every test with the real peers.
SHELL := /bin/bash
GO ?= go
PKGS ?= ./...
GOLANGCI_VERSION ?= v2.15.0
GOLANGCI ?= $(HOME)/.cache/snowhub/golangci-lint/$(GOLANGCI_VERSION)/golangci-lint

.PHONY: run test test-times build check bench lint fmt peers clean soak fuzz

run: ## the demo on http://127.0.0.1:8080 (builds InfluxDB 1.8 once)
	@SNOWHUB_INFLUXD="$$(scripts/peers.sh influxd)" $(GO) run ./cmd/snowhub -demo

# -p 1: one test binary at a time. The packages start their own InfluxDB,
# Mosquitto, RTSP servers and Chromium and fsync as a county hub does; two
# side by side on two cores took 17 min (internal/app alone 894 s), one at a
# time 12 min 43 s (internal/app 318 s): see docs/performance.md.
# scripts/testreport prints what go test prints, then the slowest tests.
test: ## installs and starts the real peers, vet, all tests with -race, stops the peers
	@scripts/peers.sh install
	@eval "$$(scripts/peers.sh env)"; \
	status=0; \
	$(GO) vet $(PKGS) || status=$$?; \
	if [ $$status -eq 0 ]; then set -o pipefail; $(GO) test -race -count=1 -p 1 -timeout 20m -json $(PKGS) | $(GO) run ./scripts/testreport -slowest 25 || status=$$?; fi; \
	if [ $$status -eq 0 ]; then GO=$(GO) FUZZTIME=3s scripts/fuzz.sh || status=$$?; fi; \
	scripts/peers.sh stop; \
	exit $$status

soak: ## 30 minutes of camera churn, sensor floods and websocket clients; goroutines, fds and RSS must stay flat (figures: docs/reliability.md)
	@scripts/peers.sh install
	@eval "$$(scripts/peers.sh env)"; \
	status=0; \
	SNOWHUB_SOAK=$${SNOWHUB_SOAK:-30m} $(GO) test -count=1 -timeout 40m -v -run '^TestSoak$$' ./internal/test/chaos || status=$$?; \
	scripts/peers.sh stop; \
	exit $$status

fuzz: ## every fuzz target for FUZZTIME each (default 2m)
	@GO=$(GO) FUZZTIME=$${FUZZTIME:-2m} scripts/fuzz.sh

build: ## bin/snowhub
	$(GO) build -trimpath -o bin/snowhub ./cmd/snowhub

check: ## validate the example configuration
	$(GO) run ./cmd/snowhub -config configs/example.yaml -check

bench: ## benchmarks; figures go to docs/performance.md
	$(GO) test -run='^$$' -bench=. -benchmem $(PKGS)

lint: ## vet, gofmt, golangci-lint (.golangci.yml), go mod tidy a no-op, govulncheck (skipped with a warning when its database is unreachable; SNOWHUB_VULN=required fails then)
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	@test -x "$(GOLANGCI)" || GOBIN="$(dir $(GOLANGCI))" $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)
	$(GOLANGCI) run $(PKGS)
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }
	@GO=$(GO) scripts/vulncheck.sh $(PKGS)

test-times: ## every package's go test time (with -race, peers running), slowest first
	@scripts/peers.sh install
	@eval "$$(scripts/peers.sh env)"; \
	$(GO) test -race -count=1 -p 1 -timeout 20m $(PKGS) 2>&1 | awk '$$1=="ok"||$$1=="FAIL" {t=$$3; sub("s$$","",t); if (t+0>0) printf "%8.1f s  %s %s\n", t, $$1, $$2}' | sort -rn; \
	scripts/peers.sh stop

fmt:
	gofmt -w $$(git ls-files '*.go')

peers: ## a shared Mosquitto on 127.0.0.1:1883 for manual work
	scripts/peers.sh install && scripts/peers.sh start

clean:
	rm -rf bin var
