#!/usr/bin/env bash
# Parse --name value options into the shell variables of the same name (dashes -> underscores).
# Source it after setting defaults: every variable with a default can be overridden on the
# command line, e.g. `run.sh --stage 2 --stop-stage 3 --nj 4`. Unknown options are an error.
while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h) echo "usage: $0 [--name value ...] (see the defaults at the top of the script)"; exit 0 ;;
    --*)
      __name="${1#--}"; __name="${__name//-/_}"
      if [ -z "${!__name+x}" ]; then echo "$0: unknown option $1" >&2; exit 1; fi
      if [ $# -lt 2 ]; then echo "$0: option $1 needs a value" >&2; exit 1; fi
      printf -v "$__name" '%s' "$2"; shift 2 ;;
    *) break ;;
  esac
done
