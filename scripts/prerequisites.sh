#!/usr/bin/env bash
# Installs what the system and its tests need and a fresh machine may lack. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v make >/dev/null || { apt-get update -qq && apt-get install -y -qq make; }
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }
