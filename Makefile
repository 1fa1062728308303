# hwpass: the two commands a fresh Debian 12 machine needs.
#   make run   installs what is missing, builds, checks this host, and runs hwpassd with its web UI
#   make test  installs what is missing, builds (warnings are errors), runs every test,
#              also under ASan+UBSan, fuzzes the parsers (tests/fuzz) for about a minute (two at a time),
#              and ends with "N passed, N failed"

DEB_PACKAGES := meson ninja-build pkg-config gcc libc6-dev libpci-dev libjansson-dev \
	libcmocka-dev libsqlite3-dev libpq-dev postgresql libmicrohttpd-dev libcurl4-gnutls-dev libgnutls28-dev openssl curl pci.ids pciutils python3 strace qemu-system-x86 busybox-static \
	kmod cpio ovmf systemd clang libclang-rt-dev chromium fonts-dejavu-core libfuse3-dev fuse3 jq \
	debhelper lintian bash-completion man-db prometheus systemd-container
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BUILD := build
ASAN_BUILD := build-asan
FUZZ_BUILD := build-fuzz

.PHONY: all deps build build-asan build-fuzz run test fuzz soak test-lab lab demo-cluster bench clean deb

all: build

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BUILD)/build.ninja:
	meson setup $(BUILD) -Dwerror=true

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
		-Dbuildtype=debug

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

build-asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

# The libFuzzer targets only (tests/fuzz): clang, -fsanitize=fuzzer,address,undefined.
$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dwerror=true -Dfuzz=true

build-fuzz: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)

# hwpassd in the foreground, standalone (SQLite), until Ctrl-C: the host's
# readiness first, then where its web UI and API answer and a token for them.
RUN_PORT ?= 8470
run: build
	@# host check exits 1 on a host that cannot pass devices through: hwpassd still runs.
	@./$(BUILD)/hwpass host check || true
	@echo
	@./$(BUILD)/hwpass token revoke make-run >/dev/null 2>&1 || true
	@tok=$$(./$(BUILD)/hwpass token create make-run) && \
		echo "hwpassd: web UI at http://127.0.0.1:$(RUN_PORT)/ (API under /v1; bearer token: $$tok)" && \
		echo "hwpassd: the CLI talks to it on /run/hwpass/hwpass.sock; Ctrl-C stops it (VMs keep running)"
	exec ./$(BUILD)/hwpassd --listen tcp:127.0.0.1:$(RUN_PORT) --web-root web

test: build build-asan build-fuzz
	@rm -f $(BUILD)/meson-logs/testlog.json $(ASAN_BUILD)/meson-logs/testlog.json \
		$(FUZZ_BUILD)/meson-logs/testlog.json
	-meson test -C $(BUILD) --print-errorlogs
	@# Suite 'long' (concurrency, the cluster tests but for cluster-agents and cluster-rotate:
	@# minutes each under ASan, their logic under ASan in unit tests) runs once, as 'scale' does.
	-meson test -C $(ASAN_BUILD) --print-errorlogs --no-suite guest --no-suite lab --no-suite browser --no-suite scale \
		--no-suite long --no-suite package
	-meson test -C $(FUZZ_BUILD) --print-errorlogs
	@python3 tests/summarize $(BUILD)/meson-logs/testlog.json $(ASAN_BUILD)/meson-logs/testlog.json \
		$(FUZZ_BUILD)/meson-logs/testlog.json

# The fault campaign for longer (tests/cluster-faults): SOAK_OPS steps (default 2000), a new
# seed each run (printed; HWPASS_FAULT_SEED=N replays one).
SOAK_OPS := 2000
soak: build
	HWPASS_FAULT_OPS=$(SOAK_OPS) meson test -C $(BUILD) cluster-faults --print-errorlogs --timeout-multiplier 0

# The Debian package, built with dpkg-buildpackage from a copy of the tree
# (its tracked and new files) in build-deb/: build-deb/hwpass_VERSION_amd64.deb.
# DEB_VERSION=V builds the copy as version V (its changelog and meson's
# project version), as tests/package does for an upgrade.
DEB_BUILD := build-deb
DEB_VERSION :=
deb: deps
	rm -rf $(DEB_BUILD) && mkdir -p $(DEB_BUILD)/hwpass
	git ls-files -z --cached --others --exclude-standard | \
		tar -c --null --ignore-failed-read -T - 2>/dev/null | tar -x -C $(DEB_BUILD)/hwpass
	if [ -n "$(DEB_VERSION)" ]; then \
		sed -i '1s/^hwpass ([^)]*)/hwpass ($(DEB_VERSION))/' $(DEB_BUILD)/hwpass/debian/changelog && \
		sed -i "0,/version : '[^']*'/s//version : '$(DEB_VERSION)'/" $(DEB_BUILD)/hwpass/meson.build; \
	fi
	cd $(DEB_BUILD)/hwpass && dpkg-buildpackage -us -uc -b
	@ls $(DEB_BUILD)/*.deb

# Each fuzz target on a copy of its seeds for HWPASS_FUZZ_SECONDS (default: the
# request and API targets 20 s, the others 15 s);
# an input that fails is kept in build-fuzz/fuzz-artifacts/.
fuzz: build-fuzz
	meson test -C $(FUZZ_BUILD) --print-errorlogs

# The emulated passthrough lab (tests/lab): every scenario, streamed here.
test-lab: build
	tests/lab/suite --build $(BUILD)

# Boots the lab's L1 host and leaves you at its shell: try hwpass without hardware.
lab: build
	tests/lab/run --build $(BUILD) --shell

# A cluster to try without hardware: PostgreSQL of its own in a temporary
# directory, a controller here, three lab hosts as agents; Ctrl-C ends it.
demo-cluster: build
	tests/lab/cluster-demo --build $(BUILD)

# Every benchmark runs even when one is over its budget; the target fails if any is.
# power-on starts QEMU and keeps it under /run/hwpass: root. placement's peer is
# OpenStack Placement, from Debian's archive.
bench: build
	$(MAKE) deps DEB_PACKAGES="python3-placement python3-wsgi-intercept"
	rc=0; bench/scan ./$(BUILD)/hwpass || rc=1; $(SUDO) bench/power-on ./$(BUILD)/hwpass || rc=1; \
		bench/api --build $(BUILD) || rc=1; bench/placement --build $(BUILD) || rc=1; \
		bench/power-ons --build $(BUILD) --seconds 60 || rc=1; exit $$rc

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
