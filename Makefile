# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE := 1

CONFIGURATION ?= Release

.PHONY: build test run cluster check-invariants soak bench clean

build:
	dotnet build Exchange.sln -c $(CONFIGURATION) -nologo -v quiet

## Installs what is missing (anvil, PostgreSQL, nginx, Chromium for the browser tests), builds and runs every
## test project, then prints one summary line for the whole run.
test: build
	scripts/prerequisites.sh
	scripts/test.sh $(CONFIGURATION)

## Starts the system on its default local addresses and prints where to look. Ctrl-C stops it.
run:
	scripts/run.sh

## Checks the invariants of the system `make run` started (exit 0 when all hold); scripts/exchange-tool.sh runs the
## exchange's other commands (reconcile, migrate) the same way.
check-invariants:
	@scripts/exchange-tool.sh check-invariants

## The production topology as local processes: two API instances behind nginx, one worker, over one PostgreSQL,
## anvil and the simulator. Prints where to look; Ctrl-C stops it.
cluster:
	CLUSTER=1 scripts/run.sh

## The long soak: 2,000 mixed requests through two instances with faults and SIGKILLs (a short one, always with the
## same seed, runs in make test). A random seed unless SOAK_SEED is set; printed first, so SOAK_SEED=N repeats a run.
## SOAK_REQUESTS changes its size.
soak: build
	@seed=$${SOAK_SEED:-$$(shuf -i 1-2000000000 -n 1)}; echo "make soak: SOAK_SEED=$$seed"; \
	SOAK_SEED=$$seed SOAK_REQUESTS=$${SOAK_REQUESTS:-2000} dotnet test tests/Exchange.Api.Tests -c $(CONFIGURATION) --no-build -nologo \
	  --filter "FullyQualifiedName~SoakTests" --logger "console;verbosity=detailed"

## The benchmark: intake, tap to broadcast, end to end and the reconciler, beside pgbench's and anvil's own
## ceilings measured in the same run. Prints a table; writes bench-results/bench.json and PNG charts.
bench:
	scripts/bench.sh $(CONFIGURATION)

clean:
	dotnet clean Exchange.sln -nologo -v quiet
	rm -rf TestResults
