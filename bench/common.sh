# bench/common.sh: the small helpers every bench script shares.
# Sourced after ME and DB are set.

log() { echo "$ME: $*" >&2; }
PSQL=(psql -X -q -v ON_ERROR_STOP=1)
sql() { "${PSQL[@]}" -d "$DB" -tA "$@"; }
# the median of whitespace-separated numbers on stdin
median() { tr ' ' '\n' | grep . | sort -g |
  awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# a / b with two decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "nan"}'; }
# a number without decimals
fmt() { awk -v x="$1" 'BEGIN {printf "%.0f\n", x}'; }
