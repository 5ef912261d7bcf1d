#!/bin/sh
# Run a command while the long search benchmark is stopped, and record the pause so that
# bench/search.py --pauses FILE leaves it out of its build times:
#   bench/pause.sh /tmp/search-pauses .venv/bin/python bench/server.py
set -eu
file=$1; shift
pids=$(pgrep -f "^[^ ]*python[^ ]* bench/search.py" || true)  # not this script, whose arguments may name it
start=$(date +%s.%N)
[ -n "$pids" ] && kill -STOP $pids
status=0
"$@" || status=$?
[ -n "$pids" ] && kill -CONT $pids
echo "$start $(date +%s.%N)" >> "$file"
exit $status
