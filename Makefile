# herald — `make test` is the test command (README, CI).
GO ?= go
PKGS := ./...

.PHONY: test deps vet fmt-check build console-vendor bench bench-vs-nchan fuzz crash stuck-readers soak audit clean

## test: install what the tests need, then gofmt check, go vet and go test -race.
test: deps fmt-check vet
	$(GO) test -race -timeout 20m $(PKGS)

## deps: a C compiler for the race detector; Node.js (the JavaScript
## client's tests, client/js) and the vendors' real client libraries
## (interop/js) that the tests run against herald; Chromium for the browser
## tests (the web console, the JavaScript client).
deps:
	@command -v $(GO) >/dev/null || { echo "Go is required: https://go.dev/dl/"; exit 1; }
	@command -v gcc >/dev/null || { \
		echo "installing gcc (needed by go test -race)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc >/dev/null; }
	@command -v node >/dev/null && command -v npm >/dev/null || { \
		echo "installing Node.js and npm (the JavaScript client's and the real-client tests run them)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	@command -v jq >/dev/null || { \
		echo "installing jq (the README's examples, which TestREADME runs, read answers with it)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null; }
	@command -v chromium >/dev/null || { \
		echo "installing Chromium (the browser tests run it headless)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@[ interop/js/node_modules/.package-lock.json -nt interop/js/package-lock.json ] || \
		(cd interop/js && npm ci --no-audit --no-fund --loglevel=error)
	$(GO) mod download
	cd interop/go/openhue && $(GO) mod download

vet:
	$(GO) vet $(PKGS)
	@# herald builds on macOS too (no epoll or io_uring there: the portable paths),
	@# and on Windows, with its tests (vetted: the README's shell test is Unix-only)
	GOOS=darwin $(GO) build $(PKGS)
	GOOS=windows $(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## console-vendor: copy uPlot (the console's charts; version pinned in
## interop/js/package.json) from interop/js/node_modules into the console's
## embedded files. Run `make deps` first; commit what it changes.
UPLOT := interop/js/node_modules/uplot
VENDOR := internal/console/static/vendor
console-vendor:
	@[ -f $(UPLOT)/dist/uPlot.esm.js ] || { echo "no $(UPLOT): run make deps"; exit 1; }
	cp $(UPLOT)/dist/uPlot.esm.js $(VENDOR)/uPlot.esm.js
	cp $(UPLOT)/dist/uPlot.min.css $(VENDOR)/uPlot.min.css
	cp $(UPLOT)/LICENSE $(VENDOR)/uPlot.LICENSE.txt

## build: -buildvcs=auto records the commit in the binary (herald version),
## whatever GOFLAGS says, and still builds outside a checkout.
build:
	$(GO) build -buildvcs=auto -o bin/herald ./cmd/herald

## bench: the core's benchmarks (numbers in the README's performance section).
bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./internal/eventlog ./internal/hub ./internal/dialect/native

## bench-vs-nchan: herald and Nchan 1.3.6 (nginx) under the same loads, same
## machine, same run (README, Performance). Installs nginx, libnginx-mod-nchan
## and jq with apt-get; takes minutes; not part of test. SHAPES: 1000x20,
## 1000xafap, 10000x5 (default --all: every one); NCHAN_WORKERS: nginx workers.
SHAPES ?= --all
NCHAN_WORKERS ?= 1
bench-vs-nchan:
	scripts/bench-vs-nchan.sh --workers $(NCHAN_WORKERS) $(SHAPES)

## fuzz: run every fuzz target briefly (FUZZTIME=1m for longer).
FUZZTIME ?= 20s
fuzz:
	@set -e; grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u | while read -r dir; do \
		for target in $$(grep -h '^func Fuzz' $$dir/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "fuzz $$dir $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$dir; \
		done; \
	done

## crash: CYCLES kill -9 cycles of a herald child under 8 publishers, each
## restarted on the same data and read back: every acknowledged event there,
## once, in order (make test runs 3). FSYNC: default or always.
CYCLES ?= 100
FSYNC ?= default
crash:
	HERALD_CRASH_CYCLES=$(CYCLES) HERALD_CRASH_FSYNC=$(FSYNC) \
		$(GO) test -count=1 -timeout 0 -run '^TestCrashLosesNoAcknowledgedEvent$$' -v ./internal/server

## stuck-readers: READERS SSE readers of which STUCK never read: the others
## get every event, the stuck ones are cut and resume exactly (make test: 100
## and 5).
READERS ?= 1000
STUCK ?= 50
stuck-readers:
	HERALD_SSE_READERS=$(READERS) HERALD_SSE_STUCK=$(STUCK) \
		$(GO) test -race -count=1 -timeout 0 -run '^TestStuckReadersAreCutAndResume$$' -v ./internal/server

## soak: publishers and resuming readers on every dialect for SOAK: each
## acknowledged event reaches each of its readers exactly once, and the
## server's goroutines come back to where they were (make test: 5s).
SOAK ?= 10m
soak:
	HERALD_SOAK=$(SOAK) $(GO) test -race -count=1 -timeout 0 -run '^TestSoak$$' -v ./internal/server

## audit: issue 18's figures, kept: 100 kill -9 cycles, 30 with fsync
## always, 1,000 SSE readers with 50 stuck, a 10-minute soak (about 30 min).
audit:
	$(MAKE) crash CYCLES=100
	$(MAKE) crash CYCLES=30 FSYNC=always
	$(MAKE) stuck-readers
	$(MAKE) soak

clean:
	rm -rf bin herald-data
