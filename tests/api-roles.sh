# Sourced by tests/api-tcp with hwpassd serving $url over TCP and $tok an
# admin token 'ci': what each role may do. A viewer reads; an operator
# also powers and edits VMs and labels devices; an admin also changes the
# host and makes tokens. Every refusal is a 403 that names the role needed
# and changes nothing; /v1/daemon tells each token its own role.
auth() { printf 'Authorization: Bearer %s' "$1"; }
message() { jq -r .error.message "$tmp/body"; }
expect "an admin token makes a viewer token over TCP: 201" 0 "^201$" \
	get "$url/v1/tokens" -X POST -H "$(auth "$tok")" --data-binary '{"name": "watch", "role": "viewer"}'
viewer=$(jq -r .token "$tmp/body")
expect "... the answer has the token once, and its role" 0 "^watch viewer hwp_" \
	jq -r '"\(.name) \(.role) \(.token)"' "$tmp/body"
expect "an unknown role: 400" 0 "^400$" \
	get "$url/v1/tokens" -X POST -H "$(auth "$tok")" --data-binary '{"name": "x", "role": "root"}'
expect "... saying which roles there are" 0 "^invalid role 'root': admin .*operator .*viewer" message
"${H[@]}" token create run --role operator >"$tmp/operator"
expect "hwpass token create --role operator prints the token" 0 "^hwp_" cat "$tmp/operator"
operator=$(cat "$tmp/operator")
expect "... a bad role is a usage error that says what each does" 2 "invalid role 'boss': admin \(everything\)" \
	"${H[@]}" token create other --role boss
expect "token list shows each token's role" 0 "run +operator .*watch +viewer " \
	sh -c '"$@" token list | sort | tr "\n" " "' - "${H[@]}"
expect "token-created records the role" 0 "^token-created\|watch\|role viewer$" \
	sql "select kind, subject, message from events where kind = 'token-created' and subject = 'watch'"

get "$url/v1/daemon" -H "$(auth "$viewer")" >/dev/null
expect "GET /v1/daemon tells a viewer its role" 0 "^token watch viewer$" \
	jq -r '"\(.caller.name) \(.caller.role)"' "$tmp/body"
expect "a viewer reads: 200 GET /v1/devices" 0 "^200$" get "$url/v1/devices" -H "$(auth "$viewer")"
for p in v1/vms v1/events metrics; do
	expect "... and GET /$p" 0 "^200$" get "$url/$p" -H "$(auth "$viewer")"
done
"${H[@]}" vm create roles --memory 64M >/dev/null 2>&1
expect "a viewer's VM start: 403" 0 "^403$" get "$url/v1/vms/roles/start" -X POST -H "$(auth "$viewer")"
expect "... naming the role needed and what to do" 0 \
	"^POST /v1/vms/roles/start needs a token with the operator role; token watch is a viewer: ask an admin" message
expect "a viewer's label: 403" 0 "^403$" get "$url/v1/devices/0000:0c:00.0/label" -X PUT -H "$(auth "$viewer")" \
	--data-binary '{"label": "nope"}'
expect "a viewer's VM delete: 403" 0 "^403$" get "$url/v1/vms/roles" -X DELETE -H "$(auth "$viewer")"
expect "... the VM kept, no label set" 0 "^1\|0$" \
	sql "select (select count(*) from vms where name = 'roles'), (select count(*) from devices where label = 'nope')"
expect "a viewer cannot make tokens: 403" 0 "^403$" get "$url/v1/tokens" -X POST -H "$(auth "$viewer")" \
	--data-binary '{"name": "mine"}'

expect "an operator labels a device: 200" 0 "^200$" get "$url/v1/devices/0000:0c:00.0/label" -X PUT \
	-H "$(auth "$operator")" --data-binary '{"label": "by-operator"}'
expect "... recorded for the token" 0 "^device-label\|by-operator\|token run via hwpassd$" \
	sql "select kind, message, actor from events where kind = 'device-label' order by id desc limit 1"
expect "an operator edits a VM: 200 PUT settings" 0 "^200$" get "$url/v1/vms/roles/settings" -X PUT \
	-H "$(auth "$operator")" --data-binary '{"vcpus": 2}'
expect "an operator's passthrough toggle: 403" 0 "^403$" get "$url/v1/devices/0000:0c:00.0/passthrough" -X PUT \
	-H "$(auth "$operator")" --data-binary '{"enabled": true, "dry_run": true}'
expect "... it needs the admin role" 0 "needs a token with the admin role; token run is an operator" message
expect "an operator's host apply: 403" 0 "^403$" get "$url/v1/host/apply" -X POST -H "$(auth "$operator")" \
	--data-binary '{"dry_run": true}'
expect "an operator cannot revoke tokens: 403" 0 "^403$" get "$url/v1/tokens/watch" -X DELETE -H "$(auth "$operator")"
expect "... the token kept" 0 "^1$" sql "select count(*) from tokens where name = 'watch'"
expect "an admin's passthrough plan: 200" 0 "^200$" get "$url/v1/devices/0000:0c:00.0/passthrough" -X PUT \
	-H "$(auth "$tok")" --data-binary '{"enabled": true, "dry_run": true}'
expect "an admin revokes a token over TCP: 200" 0 "^200$" get "$url/v1/tokens/watch" -X DELETE -H "$(auth "$tok")"
expect "... and it is refused at once: 401" 0 "^401$" get "$url/v1/devices" -H "$(auth "$viewer")"
"${H[@]}" token revoke run >/dev/null
"${H[@]}" vm delete roles >/dev/null 2>&1
