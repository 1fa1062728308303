# Sourced by the browser tests: Debian's Chromium must be there (else the
# test is skipped) and playwright-core is installed from package-lock.json
# on first use, with Debian's nodejs and npm if they are missing.
chromium=${HWPASS_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
	echo "1..0 # SKIP no Chromium at $chromium (make deps installs Debian's chromium)"
	exit 0
fi
# playwright-core from package-lock.json, installed on first use.
if [ ! -d "$here/node_modules/playwright-core" ]; then
	if ! command -v npm >/dev/null; then
		sudo=$([ "$(id -u)" = 0 ] || echo sudo)
		echo "# installing Debian's nodejs and npm" >&2
		{ $sudo apt-get update -qq &&
			DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm; } >&2 ||
			{ echo "Bail out! cannot install nodejs and npm"; exit 1; }
	fi
	# One install at a time, should two builds test at once.
	(cd "$here" && flock package.json npm ci --no-audit --no-fund) >&2 ||
		{ echo "Bail out! npm ci failed in $here"; exit 1; }
fi

