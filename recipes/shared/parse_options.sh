#!/usr/bin/env bash
# Parse --name value options into the shell variables of the same name (dashes -> underscores).
# Source it after setting defaults: every lower-case variable with a default can be
# overridden on the command line, e.g. `run.sh --stage 2 --stop-stage 3 --nj 4`. Unknown
# options, the names in $fixed_names (what a recipe is, not an option: its corpus) and stray
# arguments are errors; --stage and --stop-stage must be integers. $options_doc names
# where the defaults are explained (default: the top of the script).
while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h) echo "usage: $0 [--name value ...] (the options and their defaults: ${options_doc:-the top of $0})"
               exit 0 ;;
    --*)
      __name="${1#--}"; __name="${__name//-/_}"
      if [[ ! "$__name" =~ ^[a-z][a-z0-9_]*$ ]] || [ -z "${!__name+x}" ] || [[ " ${fixed_names:-} " == *" $__name "* ]]; then
        echo "$0: unknown option $1" >&2; exit 1
      fi
      if [ $# -lt 2 ]; then echo "$0: option $1 needs a value" >&2; exit 1; fi
      printf -v "$__name" '%s' "$2"; shift 2 ;;
    *) echo "$0: unexpected argument '$1' (options are --name value)" >&2; exit 1 ;;
  esac
done
for __name in stage stop_stage; do
  if [ -n "${!__name+x}" ] && [[ ! "${!__name}" =~ ^-?[0-9]+$ ]]; then
    echo "$0: --${__name//_/-} ${!__name}: expected an integer" >&2; exit 1
  fi
done
unset __name
