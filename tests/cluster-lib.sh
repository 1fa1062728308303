# Sourced after tap-lib.sh by the tests that run a cluster on this machine
# (cluster-agents, browser/cluster-run): hwpassd daemons, each with its run
# and state directories and its log in $tmp; agents of the controller at
# $ctl that trust $pki/ca.crt; the CLI as the operator's, with the API
# token $token. The caller sets hwpassd, ctl, pki and token.
declare -A pid
# What a daemon is started through (e.g. a mount namespace of its own); empty: directly.
launcher=()

# start NAME ARGS...: a daemon, its log in $tmp/NAME.log; waits until it serves.
start() {
	local d=$1 i from
	shift
	mkdir -p "$tmp/run-$d"
	# The log grows across restarts: only what this start writes counts.
	from=$(($(stat -c %s "$tmp/$d.log" 2>/dev/null || echo 0) + 1))
	"${launcher[@]}" "$hwpassd" --run-dir "$tmp/run-$d" --state-dir "$tmp/state-$d" --listen "unix:$tmp/run-$d/sock" "$@" \
		>>"$tmp/$d.log" 2>&1 &
	pid[$d]=$!
	for i in $(seq 300); do
		tail -c "+$from" "$tmp/$d.log" 2>/dev/null | grep -q "serving the API on unix" && return 0
		kill -0 "${pid[$d]}" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
halt() { kill "${pid[$1]}" 2>/dev/null; wait "${pid[$1]}" 2>/dev/null; unset "pid[$1]"; }
# stop_daemons: every daemon started here that is still running, and waits for them.
stop_daemons() {
	local d
	for d in "${!pid[@]}"; do kill "${pid[$d]}" 2>/dev/null; done
	for d in "${!pid[@]}"; do wait "${pid[$d]}" 2>/dev/null; done
}
# agent NAME [ARGS...]: hwpassd --role agent for host gpu-NAME on $tmp/NAME, its store $tmp/NAME.db.
agent() {
	local h=$1
	shift
	start "$h" --role agent --name "gpu-$h" --controller "$ctl" --ca "$pki/ca.crt" --host-root "$tmp/$h" \
		--db "$tmp/$h.db" "$@"
}
# The CLI as an operator's: through the controller with an API token.
cl() { HWPASS_CONTROLLER=$ctl HWPASS_CA=$pki/ca.crt HWPASS_TOKEN=$token "$hwpass" "$@"; }
# until_ok SECONDS COMMAND...: COMMAND succeeds within SECONDS.
until_ok() {
	local end=$((SECONDS + $1))
	shift
	while [ $SECONDS -le $end ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
	return 1
}
# jq_ok FILTER COMMAND...: COMMAND succeeds and FILTER holds for its JSON
# (jq -e alone would pass on no input at all).
jq_ok() {
	local filter=$1 doc
	shift
	doc=$("$@") || return 2
	[ -n "$doc" ] && jq -e "$filter" <<<"$doc" >/dev/null
}
