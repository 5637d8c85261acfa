# meshcheck build, test, demo and benchmark entry points.
# SCRATCH lets several build folders coexist (e.g. `make test SCRATCH=.build-sim`).
SWIFT   ?= swift
SCRATCH ?= .build
SPM      = --scratch-path $(SCRATCH)
BIN      = $(SCRATCH)/debug/meshcheck

.PHONY: prereqs build test unit-test script-test demo bench fuzz fuzz-smoke clean example-report install uninstall

# What the machine needs beyond the Swift toolchain, listed here once. The build: libcurl and OpenSSL headers
# and libraries (Sources/CCurl, Sources/COpenSSL) and pkg-config, which reads their flags. The tests, on top:
# busybox (the in-pod script under busybox sh as well as dash), libxml2-utils (xmllint checks junit.xml),
# chromium (report.html rendered headless), util-linux (unshare), iproute2 (loopback up in a test network
# namespace), nghttp2-server (an independent HTTP/2 server), python3 (the scripted tests' checkers; their
# modules come from scripts/prereqs.sh).
# Every target that builds runs scripts/prereqs.sh first: as root it installs what is missing (apt-get
# update, then apt-get install -y), otherwise it prints the exact command and stops before building.
# Targets that run tests ask for the `test` group (target-specific, so their prerequisites inherit it).
BUILD_PACKAGES = libcurl4-openssl-dev libssl-dev pkg-config
TEST_PACKAGES = busybox libxml2-utils chromium util-linux iproute2 nghttp2-server python3
PREREQS ?= build
prereqs:
	@MESHCHECK_BUILD_PACKAGES="$(BUILD_PACKAGES)" MESHCHECK_TEST_PACKAGES="$(TEST_PACKAGES)" scripts/prereqs.sh $(PREREQS)

build: prereqs
	$(SWIFT) build $(SPM) --product meshcheck

# The main job on the embedded simulated mesh: the install guide's check (scenarios/smoke.yaml).
demo: build
	$(BIN) run scenarios/smoke.yaml --simulate --output-dir reports/demo

# reports/example/: every output of one simulated smoke run (linked from the README), regenerated here.
EXAMPLE_FILES = report.json records.jsonl summary.md junit.xml report.html metrics.prom
example-report: build
	cd reports/example 2>/dev/null && rm -f $(EXAMPLE_FILES) || mkdir -p reports/example
	NO_COLOR=1 $(BIN) run scenarios/smoke.yaml --simulate --output-dir reports/example

# Unit and end-to-end tests (XCTest / Swift Testing), then the scripted tests that drive real
# clients written by others (kubectl) against the simulated mesh.
test: unit-test script-test fuzz-smoke
test unit-test script-test fuzz-smoke: PREREQS = test

unit-test: prereqs
	$(SWIFT) build $(SPM) --build-tests
	$(SWIFT) test $(SPM) --skip-build

script-test: build
	@set -e; passed=0; failed=0; \
	for t in Tests/scripts/*.sh; do \
	  [ -e "$$t" ] || continue; \
	  echo "== $$t"; \
	  if MESHCHECK="$(BIN)" bash "$$t"; then passed=$$((passed+1)); else failed=$$((failed+1)); echo "FAILED: $$t"; fi; \
	done; \
	echo "scripts: $$passed passed, $$failed failed"; \
	[ $$failed -eq 0 ]

# Benchmarks print `BENCH <name> ours=<v> baseline=<v> unit=<u> ratio=<baseline/ours>` lines.
bench: prereqs
	$(SWIFT) build $(SPM) -c release --product MeshBench
	$(SCRATCH)/release/MeshBench

# Soak: canary runs (workloads reused) against one long-lived simulated mesh with API faults on some runs,
# for SOAK_SECONDS (10 minutes), printing the memory and descriptor curve; `make test` runs a 45 s form
# (Tests/scripts/soak.sh). scale-table: wall time, peak RSS and CPU of full meshes of 2, 4, 8 and 16
# simulated clusters with the same requests per (source, target) pair (scripts/scale-table.py).
SOAK_SECONDS ?= 600
.PHONY: soak scale-table
soak: build
	SOAK_SECONDS=$(SOAK_SECONDS) MESHCHECK="$(BIN)" bash Tests/scripts/soak.sh

scale-table: build
	python3 scripts/scale-table.py --meshcheck "$(BIN)"

# libFuzzer targets: each Fuzz/<Name>.swift is compiled with the MeshStats sources (or the files
# listed in Fuzz/<Name>.sources, one path or glob a line; an entry that matches no file stops the build,
# so a rename cannot silently drop a source: scripts/fuzz-sources.sh), replays
# Fuzz/regressions/<Name>/, then fuzzes from Fuzz/corpus/<Name> for FUZZ_SECONDS (fuzz) or 10 s
# (fuzz-smoke, part of `make test`). New corpus entries and crash inputs go under $(SCRATCH)/fuzz/.
# Targets whose sources import Yams link an instrumented build of Yams made once from the SwiftPM
# checkout (CYaml with clang, Yams with swiftc) into $(FUZZ_YAMS).
FUZZ_SECONDS ?= 60
# All targets by default; FUZZ_TARGETS="ScenarioFuzz ExecStatusFuzz" runs those, in that order.
FUZZ_TARGETS ?= $(basename $(notdir $(wildcard Fuzz/*.swift)))
fuzz: FUZZ_RUN_SECONDS = $(FUZZ_SECONDS)
fuzz-smoke: FUZZ_RUN_SECONDS = 10
# A short run gains more from a 5x faster compile than it loses in executions per second.
fuzz: FUZZ_OPTIMIZE = -O -wmo
fuzz-smoke: FUZZ_OPTIMIZE = -Onone
FUZZ_YAMS = $(SCRATCH)/fuzz/Yams
YAMS_SOURCES = $(abspath $(SCRATCH))/checkouts/Yams/Sources
$(FUZZ_YAMS)/built: $(wildcard $(YAMS_SOURCES)/Yams/*.swift $(YAMS_SOURCES)/CYaml/src/*.c)
	@[ -d $(YAMS_SOURCES) ] || $(SWIFT) package $(SPM) resolve
	@rm -rf $(FUZZ_YAMS) && mkdir -p $(FUZZ_YAMS)
	@for c in $(YAMS_SOURCES)/CYaml/src/*.c; do \
	  clang -c -O1 -fsanitize=fuzzer-no-link,address -DYAML_DECLARE_STATIC -I $(YAMS_SOURCES)/CYaml/include \
	    $$c -o $(FUZZ_YAMS)/CYaml-$$(basename $$c .c).o || exit 1; \
	done
	swiftc -sanitize=fuzzer,address -parse-as-library -O -wmo -swift-version 5 -suppress-warnings -DSWIFT_PACKAGE -module-name Yams \
	  -Xcc -fmodule-map-file=$(YAMS_SOURCES)/CYaml/include/module.modulemap -Xcc -I -Xcc $(YAMS_SOURCES)/CYaml/include \
	  -emit-module -emit-module-path $(FUZZ_YAMS)/Yams.swiftmodule -c $(YAMS_SOURCES)/Yams/*.swift -o $(FUZZ_YAMS)/Yams.o
	@touch $@
# Every target's source list resolves before anything is compiled (scripts/fuzz-sources.sh).
.PHONY: fuzz-sources
fuzz-sources:
	@for name in $(FUZZ_TARGETS); do scripts/fuzz-sources.sh $$name >/dev/null || exit 1; done
# Swift's crash backtracer is off: under ASan it can trip or hang instead of letting libFuzzer
# report the crash. An input that runs for 30 s is a failure too (a hang).
fuzz fuzz-smoke: prereqs fuzz-sources $(FUZZ_YAMS)/built
	@set -e; export SWIFT_BACKTRACE=enable=no; mkdir -p $(SCRATCH)/fuzz; \
	for name in $(FUZZ_TARGETS); do \
	  bin=$(SCRATCH)/fuzz/$$name; \
	  sources=$$(scripts/fuzz-sources.sh $$name); \
	  yams=; if grep -qw 'import Yams' $$sources; then yams="-I $(FUZZ_YAMS) $(FUZZ_YAMS)/*.o"; fi; \
	  swiftc -sanitize=fuzzer,address -use-ld=lld -parse-as-library $(FUZZ_OPTIMIZE) -module-name $$name -package-name meshcheck \
	    $$sources Fuzz/$$name.swift $$yams -o $$bin; \
	  if ls Fuzz/regressions/$$name/* >/dev/null 2>&1; then $$bin Fuzz/regressions/$$name/*; fi; \
	  mkdir -p $(SCRATCH)/fuzz/corpus-$$name; \
	  dict=; [ -f Fuzz/$$name.dict ] && dict=-dict=Fuzz/$$name.dict; \
	  log=$(SCRATCH)/fuzz/$$name.log; \
	  if ! $$bin $$dict -max_total_time=$(FUZZ_RUN_SECONDS) -timeout=30 -print_final_stats=1 -artifact_prefix=$(SCRATCH)/fuzz/$$name- \
	      $(SCRATCH)/fuzz/corpus-$$name Fuzz/corpus/$$name >$$log 2>&1; then \
	    tail -n 40 $$log; echo "fuzz target $$name failed: crash input in $(SCRATCH)/fuzz/$$name-*"; exit 1; \
	  fi; \
	  echo "$$name: $$(grep -E '^Done' $$log)"; \
	done

# Install the release binary, `kubectl-meshcheck` beside it (so `kubectl meshcheck ...` works as a kubectl
# plugin when $(PREFIX)/bin is on PATH) and bash, zsh and fish completions generated by argument-parser.
# DESTDIR stages the same tree elsewhere (packaging): `make install DESTDIR=/tmp/stage PREFIX=/usr`.
PREFIX  ?= /usr/local
BINDIR   = $(DESTDIR)$(PREFIX)/bin
BASHCOMPDIR = $(DESTDIR)$(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  = $(DESTDIR)$(PREFIX)/share/zsh/site-functions
FISHCOMPDIR = $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d

# INSTALL_CONFIG=debug installs the debug build (the scripted install test uses it; no release build needed).
INSTALL_CONFIG ?= release

install: prereqs
	$(SWIFT) build $(SPM) -c $(INSTALL_CONFIG) --product meshcheck
	install -d $(BINDIR) $(BASHCOMPDIR) $(ZSHCOMPDIR) $(FISHCOMPDIR)
	install -m 755 $(SCRATCH)/$(INSTALL_CONFIG)/meshcheck $(BINDIR)/meshcheck
	ln -sf meshcheck $(BINDIR)/kubectl-meshcheck
	$(SCRATCH)/$(INSTALL_CONFIG)/meshcheck --generate-completion-script bash > $(BASHCOMPDIR)/meshcheck
	$(SCRATCH)/$(INSTALL_CONFIG)/meshcheck --generate-completion-script zsh > $(ZSHCOMPDIR)/_meshcheck
	$(SCRATCH)/$(INSTALL_CONFIG)/meshcheck --generate-completion-script fish > $(FISHCOMPDIR)/meshcheck.fish
	@echo "installed $(BINDIR)/meshcheck and kubectl-meshcheck; completions under $(DESTDIR)$(PREFIX)/share"

uninstall:
	rm -f $(BINDIR)/meshcheck $(BINDIR)/kubectl-meshcheck $(BASHCOMPDIR)/meshcheck $(ZSHCOMPDIR)/_meshcheck \
	  $(FISHCOMPDIR)/meshcheck.fish

# Style: swift-format (it ships with the toolchain) with the repository's .swift-format. `lint` fails on
# any finding and runs in CI; `format` rewrites the files in place.
FORMAT_PATHS = Sources Tests Fuzz Package.swift
.PHONY: format lint
format:
	$(SWIFT) format format --in-place --recursive --parallel $(FORMAT_PATHS)

lint:
	$(SWIFT) format lint --strict --recursive --parallel $(FORMAT_PATHS)

clean:
	rm -rf $(SCRATCH)
