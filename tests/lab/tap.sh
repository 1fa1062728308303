# Sourced by the lab's runners on the test machine (suite, and the browser's
# lab-run): one scenario's console as TAP cases, numbered on from $n with
# failures counted in $failed. Each LAB-TAP line is a case, then one for the
# scenario's exit status; the nested guests' PROBE lines, hwpassd's last
# lines and a boot tried again are shown as comments.
#
# lab_tap NAME CONSOLE RC SECONDS
lab_tap() {
	local name=$1 console=$2 rc=$3 secs=$4 line
	while IFS= read -r line; do
		case $line in
		*"LAB-TAP ok - "*)
			n=$((n + 1))
			echo "ok $n - $name: ${line#*LAB-TAP ok - }"
			;;
		*"LAB-TAP not ok - "*)
			n=$((n + 1))
			failed=$((failed + 1))
			echo "not ok $n - $name: ${line#*LAB-TAP not ok - }"
			;;
		"lab: QEMU died"*)
			echo "# $name: ${line#lab: }"
			;;
		*"L2: PROBE"* | *"LAB: nested"* | *"LAB: hwpassd:"*)
			echo "# ${line#*L2: }"
			;;
		esac
	done < <(tr -d '\r' <"$console")
	n=$((n + 1))
	if [ "$rc" -eq 0 ]; then
		echo "ok $n - $name: scenario passed in ${secs}s"
	else
		failed=$((failed + 1))
		echo "not ok $n - $name: scenario exit $rc after ${secs}s # $(grep -E '^lab: ' "$console" | tail -1) (console: $console)"
	fi
}
