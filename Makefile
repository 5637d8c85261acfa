# meshcheck build, test, demo and benchmark entry points.
# SCRATCH lets several build folders coexist (e.g. `make test SCRATCH=.build-sim`).
SWIFT   ?= swift
SCRATCH ?= .build
SPM      = --scratch-path $(SCRATCH)
BIN      = $(SCRATCH)/debug/meshcheck

.PHONY: build test unit-test script-test bench fuzz clean

build:
	$(SWIFT) build $(SPM) --product meshcheck

# Unit and end-to-end tests (XCTest / Swift Testing), then the scripted tests that drive real
# clients written by others (kubectl) against the simulated mesh.
test: unit-test script-test

unit-test:
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
bench:
	$(SWIFT) build $(SPM) -c release --product MeshBench
	$(SCRATCH)/release/MeshBench

clean:
	rm -rf $(SCRATCH)
