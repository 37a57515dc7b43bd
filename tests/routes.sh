#!/bin/sh
#
# routes.sh -- cofferd(8)'s table of served paths, from the router.
#
# Usage: sh tests/routes.sh check|update COFFERD PAGE
#
# The table sits between the lines '.\" routes: begin' and
# '.\" routes: end' of PAGE.  It is made from `COFFERD -list-routes`,
# which prints what the router and the sys/ mount registered (the raw
# and sys/ routes, then every entry of the secrets engines' and auth
# methods' path tables, which are their dispatch): "check"
# fails, showing the difference, when the page's table is not that;
# "update" writes it into the page.

set -eu
export LC_ALL=C

[ $# -eq 3 ] || { echo "usage: $0 check|update cofferd page" >&2; exit 2; }
mode=$1 cofferd=$2 page=$3
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.table" "$tmp.page"' EXIT

"$cofferd" -list-routes >"$tmp"
{
	echo '.Bl -column "sys/internal/ui/resultant-acl" "secrets engine type" -offset indent'
	echo '.It Sy path Ta Sy served'
	grep -E '^(seal|sys) ' "$tmp" | sort -k2 | while read -r kind path; do
		case $kind in
		seal) what="in every state" ;;
		sys) what="when unsealed" ;;
		esac
		echo ".It Pa $path Ta $what"
	done
	echo '.El'
	# Every entry of the engines' and auth methods' path tables, in
	# each table's order: "engine kv v2 data/* read,create,...".
	echo '.Bl -column "auth userpass" "role/:role_name/secret-id-accessor/destroy" -offset indent'
	echo '.It Sy type Ta Sy path in the mount Ta Sy operations'
	grep -E '^(engine|auth) ' "$tmp" | sort -s -k1,2 |
	    while read -r kind type variant path ops; do
		[ -n "$path" ] || { echo "$0: $type has no path table" >&2;
		    exit 1; }
		[ "$variant" = - ] && variant= || variant=" No $variant"
		[ "$path" = "*" ] && path='\(**'
		echo ".It Cm $type$variant Ta Pa $path Ta $(echo "$ops" |
		    sed 's/,/, /g')"
	done
	echo '.El'
} >"$tmp.table"

awk -v table="$tmp.table" '
	/^\.\\" routes: end/ { skip = 0 }
	!skip { print }
	/^\.\\" routes: begin/ {
		while ((getline l < table) > 0)
			print l
		skip = 1
	}
' "$page" >"$tmp.page"

grep -q '^\.\\" routes: begin' "$page" ||
    { echo "$page: no routes: begin marker" >&2; exit 1; }
case $mode in
check)
	if ! cmp -s "$page" "$tmp.page"; then
		echo "$page: the table of paths differs from cofferd" \
		    "-list-routes; run make routes" >&2
		diff -u "$page" "$tmp.page" >&2 || true
		exit 1
	fi
	echo "$page: the table of paths matches the router"
	;;
update)
	cp "$tmp.page" "$page"
	;;
*)
	echo "usage: $0 check|update cofferd page" >&2
	exit 2
	;;
esac
