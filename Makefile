# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE := 1

CONFIGURATION ?= Release

.PHONY: build test run clean

build:
	dotnet build Exchange.sln -c $(CONFIGURATION) -nologo -v quiet

## Builds and runs every test project, then prints one summary line for the whole run.
test: build
	scripts/test.sh $(CONFIGURATION)

## Starts the system on its default local addresses and prints where to look. Ctrl-C stops it.
run:
	scripts/run.sh

clean:
	dotnet clean Exchange.sln -nologo -v quiet
	rm -rf TestResults
