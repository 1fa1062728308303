# Sourced by tests/package after package-upgrade.sh, with $base_deb (the
# last release's package, $base_version) built: an agent one version behind
# its controllers, as in a rolling upgrade that does the controllers first.
# A cluster on this machine: a controller of this tree ($HWPASSD) over the
# PostgreSQL server of 'pg-lib.sh run', agent gpu-a of the release (its
# hwpassd unpacked from the package), agent gpu-b of this tree, each on a
# copy of the desktop fixture. Shown: the old agent joins and its host is
# ready, and its heartbeats keep it so for two leases; a VM placed there
# runs (QEMU under TCG, the probe guest); the agent is then upgraded in
# place (the old daemon stopped, this tree's started on the same host, state
# and run directories): the host is ready again and reports the new version,
# the VM runs on in the same QEMU, and a stop through the controller ends it.
url=${HWPASS_TEST_STORE:-}
probe=${HWPASS_PROBE_GUEST:-}
if [ -z "$url" ] || [ -z "$probe" ] || [ -z "${HWPASSD:-}" ] || ! command -v qemu-system-x86_64 >/dev/null; then
	echo "# an old agent in a new cluster not shown: needs HWPASSD, HWPASS_PROBE_GUEST, qemu-system-x86_64" \
		"and PostgreSQL (run through pg-lib.sh run)"
	return 0
fi
hwpassd=$HWPASSD
old=$tmp/old
. "$here/cluster-lib.sh"
cluster_down() {
	local q
	stop_daemons
	# A VM's QEMU outlives its agent by design; its supervisor ends with it.
	for q in $(cat "$tmp"/run-*/vms/*/qemu.pid 2>/dev/null); do kill -9 "$q" 2>/dev/null; done
}
undo=(cluster_down "${undo[@]}")

expect "the release's hwpassd, unpacked from its package: $base_version" 0 "^hwpassd $base_version\$" \
	sh -c "dpkg-deb -x '$base_deb' '$old' && '$old/usr/sbin/hwpassd' --version"
pki=$tmp/pki
"$hwpass" cluster init "$pki" ctl1 --address 127.0.0.1 >/dev/null
port=$(free_port)
ctl=https://127.0.0.1:$port
# The fast timing of the cluster tests: a heartbeat each 0.3 s, a lease of 3 s.
lease_s=3
start ctl --role controller --db "$url" --listen "tcp:127.0.0.1:$port" --tls-cert "$pki/ctl1.crt" \
	--tls-key "$pki/ctl1.key" --advertise "$ctl" --heartbeat-ms 300 --lease-ms $((lease_s * 1000)) ||
	{ sed 's/^/# /' "$tmp/ctl.log"; echo "Bail out! the controller did not start"; exit 1; }
token=$("$hwpass" --db "$url" token create ops)
for h in a b; do cp -a "$fixtures/desktop" "$tmp/$h"; done
# Placement ranks by available memory: gpu-a has the most.
sed -i "s/^MemAvailable:.*/MemAvailable:   $((900000 * 1024)) kB/" "$tmp/a/proc/meminfo"
old_agent() { hwpassd=$old/usr/sbin/hwpassd HWPASS_QEMU_ACCEL=tcg agent a "$@"; }
new_agent() { HWPASS_QEMU_ACCEL=tcg agent "$@"; }
# host_is NAME JQ: the host's entry in 'host list' holds JQ.
host_is() { jq_ok ".hosts[] | select(.name == \"$1\") | $2" cl --json host list; }
ready=".state == \"connected\" and .ready"

expect "an agent of $base_version joins this tree's controller" 0 "" old_agent --join-token "$(cl cluster token create 2>/dev/null)"
kill -0 "${pid[a]}" 2>/dev/null || { sed 's/^/# /' "$tmp/a.log" | tail -10; echo "Bail out! the old agent did not start"; exit 1; }
expect "... and one of this tree" 0 "" new_agent b --join-token "$(cl cluster token create 2>/dev/null)"
f=$failed
expect "gpu-a is connected and ready, reporting $base_version" 0 "" \
	until_ok 20 host_is gpu-a "$ready and .version == \"$base_version\""
[ "$failed" = "$f" ] || tail -5 "$tmp/a.log" | sed 's/^/# gpu-a: /'
expect "... gpu-b too, reporting $version" 0 "" until_ok 20 host_is gpu-b "$ready and .version == \"$version\""
# ready_for SECONDS: gpu-a is ready at every look, a look each half second.
ready_for() {
	local end=$((SECONDS + $1))
	while [ $SECONDS -le $end ]; do host_is gpu-a "$ready" || return 1; sleep 0.5; done
	host_is gpu-a ".heartbeat_age_ms < $((lease_s * 1000))"
}
expect "the old agent's heartbeats keep gpu-a ready for two leases ($((2 * lease_s)) s)" 0 "" ready_for $((2 * lease_s + 1))

printf '{"name": "keep", "memory_mib": 32, "vcpus": 1, "kernel": "%s"}' "$probe" >"$tmp/keep.json"
cl vm define "$tmp/keep.json" >/dev/null
expect "vm start: a VM placed on gpu-a, the old agent's host" 0 "^gpu-a$" eval 'cl --json vm start keep | jq -r .host'
expect "... runs there" 0 "" until_ok 60 jq_ok '.state == "running" and .host == "gpu-a"' cl --json vm show keep
vm_qemu=$(cat "$tmp/run-a/vms/keep/qemu.pid" 2>/dev/null)
epoch=$(cl --json vm show keep | jq .epoch)
expect "... in a QEMU of its own, started by the old agent" 0 "" kill -0 "${vm_qemu:-none}"
expect "... and vm list says running" 0 "^keep +gpu-a +running" cl vm list

# The agent upgraded: the old daemon stopped, the new one on the same directories.
halt a
expect "the old agent stopped: the VM's QEMU runs on" 0 "" kill -0 "${vm_qemu:-none}"
expect "this tree's hwpassd starts on gpu-a's host, state and run directories" 0 "" new_agent a
expect "gpu-a is connected and ready again, reporting $version" 0 "" \
	until_ok 20 host_is gpu-a "$ready and .version == \"$version\""
expect "... the VM runs on there, in the same QEMU, at the same epoch" 0 "" \
	eval 'kill -0 "$vm_qemu" && jq_ok ".state == \"running\" and .host == \"gpu-a\" and .epoch == $epoch" cl --json vm show keep'
expect "... and vm list says running" 0 "^keep +gpu-a +running" cl vm list
expect "vm stop through the controller: the new agent stops the VM the old one started" 0 "" cl vm stop keep
expect "... its QEMU ends, and the cluster has it off" 0 "" \
	until_ok 60 eval '! kill -0 "$vm_qemu" 2>/dev/null && jq_ok ".state == \"off\"" cl --json vm show keep'
