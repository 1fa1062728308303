# Sourced by tests/api-tcp after api-roles.sh (auth, message), with hwpassd
# serving $url over TCP and $tok an admin token 'ci': tokens limited to VMs
# and hosts. A limited token acts only on its VMs and its hosts (this
# machine, for a host's own daemon), lists only those, and never the routes
# about the whole cluster or the tokens; every refusal is a 403 that names
# the limits and changes nothing.
here_host=$(uname -n)
"${H[@]}" vm create lim-a --memory 64M >/dev/null 2>&1
"${H[@]}" vm create lim-b --memory 64M >/dev/null 2>&1
"${H[@]}" token create mine --role operator --vms lim-a >"$tmp/mine"
expect "hwpass token create --vms makes a token limited to that VM" 0 "^hwp_" cat "$tmp/mine"
mine=$(cat "$tmp/mine")
expect "token list shows its limit" 0 "^mine +operator +VMs lim-a " sh -c '"$@" token list | grep "^mine"' - "${H[@]}"
expect "... and --json its list" 0 '^\["lim-a"\] null$' \
	sh -c '"$@" --json token list | jq -c ".tokens[] | select(.name == \"mine\") | .vms, .hosts" | tr "\n" " " |
		sed "s/ $//"' - "${H[@]}"
expect "token-created records the limit" 0 "^role operator, VMs lim-a$" \
	sql "select message from events where kind = 'token-created' and subject = 'mine'"
expect "a VM name that is none: a usage error" 2 "invalid VM name 'a b' for the token's limit" \
	"${H[@]}" token create odd --vms "a b"
expect "an empty list over the API: 400" 0 "^400$" get "$url/v1/tokens" -X POST -H "$(auth "$tok")" \
	--data-binary '{"name": "none", "hosts": []}'
expect "... a token limited to nothing could do nothing" 0 "limited to no hosts could do nothing" message
expect "... neither made" 0 "^0$" sql "select count(*) from tokens where name in ('odd', 'none')"

get "$url/v1/daemon" -H "$(auth "$mine")" >/dev/null
expect "GET /v1/daemon tells the token its limits" 0 '^token mine operator \["lim-a"\]$' \
	jq -r '"\(.caller.name) \(.caller.role) \(.caller.vms | tojson)"' "$tmp/body"
expect "GET /v1/vms lists its VM only" 0 "^200$" get "$url/v1/vms" -H "$(auth "$mine")"
expect "... lim-a, not lim-b" 0 "^lim-a$" jq -r '[.vms[].name] | join(" ")' "$tmp/body"
expect "it edits its VM: 200" 0 "^200$" get "$url/v1/vms/lim-a/settings" -X PUT -H "$(auth "$mine")" \
	--data-binary '{"vcpus": 2}'
expect "another VM's settings: 403" 0 "^403$" get "$url/v1/vms/lim-b/settings" -X PUT -H "$(auth "$mine")" \
	--data-binary '{"vcpus": 2}'
expect "... naming the VM and the limit" 0 \
	"^PUT /v1/vms/lim-b/settings acts on VM 'lim-b': token mine is limited to VMs lim-a \(ask an admin" message
expect "another VM read alone: 403" 0 "^403$" get "$url/v1/vms/lim-b" -H "$(auth "$mine")"
expect "another VM's delete: 403" 0 "^403$" get "$url/v1/vms/lim-b" -X DELETE -H "$(auth "$mine")"
expect "a VM of another name defined: 403" 0 "^403$" get "$url/v1/vms" -X POST -H "$(auth "$mine")" \
	--data-binary '{"name": "lim-c", "memory": "64M"}'
expect "... nor one whose name is given twice (lim-c, then lim-a): 403" 0 "^403$" get "$url/v1/vms" -X POST \
	-H "$(auth "$mine")" --data-binary '{"name": "lim-c", "name": "lim-a", "memory_mib": 64, "vcpus": 1}'
expect "... lim-b kept with 1 vCPU, no lim-c" 0 '^1\|0$' \
	sql "select (select count(*) from vms where name = 'lim-b' and spec like '%\"vcpus\":1%'),
	        (select count(*) from vms where name = 'lim-c')"
expect "it reads the devices, to choose its own: 200" 0 "^200$" get "$url/v1/devices" -H "$(auth "$mine")"
expect "... but labels none: 403" 0 "^403$" get "$url/v1/devices/0000:0c:00.0/label" -X PUT -H "$(auth "$mine")" \
	--data-binary '{"label": "mine"}'
expect "... acting on this host, which it is not limited to" 0 "acts on host $here_host: token mine is limited to VMs" \
	message
expect "/metrics, the whole host's: 403" 0 "^403$" get "$url/metrics" -H "$(auth "$mine")"
expect "GET /v1/events gives its VM's only" 0 "^200$" get "$url/v1/events?limit=1000" -H "$(auth "$mine")"
expect "... (the settings change of lim-a among them)" 0 "^lim-a$" jq -r '[.events[].subject] | unique | join(" ")' \
	"$tmp/body"

expect "an admin token for this host" 0 "^201$" get "$url/v1/tokens" -X POST -H "$(auth "$tok")" \
	--data-binary "{\"name\": \"here\", \"hosts\": [\"$here_host\"]}"
on_here=$(jq -r .token "$tmp/body")
expect "... the answer has its hosts" 0 "^\\[\"$here_host\"\\]$" jq -c .hosts "$tmp/body"
expect "it plans a passthrough change here: 200" 0 "^200$" get "$url/v1/devices/0000:0c:00.0/passthrough" -X PUT \
	-H "$(auth "$on_here")" --data-binary '{"enabled": true, "dry_run": true}'
expect "... and lists every VM here" 0 "^200$" get "$url/v1/vms" -H "$(auth "$on_here")"
expect "... lim-a and lim-b" 0 "^lim-a lim-b$" jq -r '[.vms[].name | select(startswith("lim-"))] | join(" ")' \
	"$tmp/body"
expect "but it makes no token (a limited admin would give itself more): 403" 0 "^403$" \
	get "$url/v1/tokens" -X POST -H "$(auth "$on_here")" --data-binary '{"name": "more"}'
expect "... about the whole cluster" 0 "^POST /v1/tokens is about the whole cluster: token here is limited to hosts" \
	message

"${H[@]}" token create away --role admin --hosts elsewhere >"$tmp/away"
away=$(cat "$tmp/away")
expect "a token for another host lists no VM of this one" 0 "^200$" get "$url/v1/vms" -H "$(auth "$away")"
expect "... none" 0 "^0$" jq '.vms | length' "$tmp/body"
expect "... reads none of them: 403" 0 "^403$" get "$url/v1/vms/lim-a" -H "$(auth "$away")"
expect "... saying where it is" 0 "acts on VM 'lim-a', which is on host $here_host: token away is limited to hosts elsewhere" \
	message
expect "... and changes nothing here: 403" 0 "^403$" get "$url/v1/devices/0000:0c:00.0/passthrough" -X PUT \
	-H "$(auth "$away")" --data-binary '{"enabled": true, "dry_run": true}'
expect "... nor starts this host's VMs: 403" 0 "^403$" get "$url/v1/host/start-vms" -X POST -H "$(auth "$away")"
for t in mine here away; do "${H[@]}" token revoke $t >/dev/null; done
"${H[@]}" vm delete lim-a >/dev/null 2>&1
"${H[@]}" vm delete lim-b >/dev/null 2>&1
