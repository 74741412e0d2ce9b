#!/usr/bin/env bash
# Timestamped logging for recipe stages.
log() { echo "$(date '+%Y-%m-%d %H:%M:%S') [$(basename "$0")] $*"; }
