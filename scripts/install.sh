#!/bin/sh
# Installs lanwatch from this checkout on Debian / Raspberry Pi OS (run with sudo):
#   - Node.js >= 20 if missing (the distribution's when new enough, else NodeSource 22.x),
#   - python3, make and g++ if missing: npm ci builds lanwatch's netlink addon (native/netlink),
#   - runtime dependencies (npm ci --omit=dev),
#   - the `lanwatch` and `agent` commands in /usr/local/bin.
# It changes nothing else: no service, no config file (absent config = defaults).
set -eu
cd "$(dirname "$0")/.."
here=$(pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (sudo $0): it installs packages and links commands into /usr/local/bin" >&2
  exit 2
fi

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(node_major)" -lt 20 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  candidate=$(apt-cache policy nodejs | awk '/Candidate:/ {print $2}' | sed 's/^[0-9]*://; s/\..*//')
  if [ -n "$candidate" ] && [ "$candidate" != "(none)" ] && [ "$candidate" -ge 20 ] 2>/dev/null; then
    apt-get install -y -q nodejs npm
  else
    # Debian 12 / Raspberry Pi OS bookworm ship Node 18: use NodeSource's 22.x repository.
    apt-get install -y -q ca-certificates curl gnupg
    mkdir -p /etc/apt/keyrings
    curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor --yes -o /etc/apt/keyrings/nodesource.gpg
    echo "deb [signed-by=/etc/apt/keyrings/nodesource.gpg] https://deb.nodesource.com/node_22.x nodistro main" > /etc/apt/sources.list.d/nodesource.list
    apt-get update -q
    apt-get install -y -q nodejs
  fi
fi
echo "node $(node --version)"

# The netlink addon is C built by node-gyp at install time (Node-API: one build serves every
# Node >= 20). Without it the agent still runs, on procfs/sysfs, and says so in status.
missing=""
for tool in python3 make g++; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # shellcheck disable=SC2086 # word splitting intended: one package per tool
  apt-get install -y -q --no-install-recommends $missing
fi

npm ci --omit=dev --no-audit --no-fund

for name in lanwatch agent; do
  target=/usr/local/bin/$name
  if [ -e "$target" ] && [ "$(readlink -f "$target")" != "$here/bin/agent.js" ]; then
    echo "install.sh: $target exists and is not lanwatch's; leaving it (use $here/bin/agent.js)" >&2
    continue
  fi
  ln -sf "$here/bin/agent.js" "$target"
done
echo "installed: lanwatch $(node bin/agent.js --version); try: sudo lanwatch run"
