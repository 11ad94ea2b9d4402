#!/bin/sh
# Hand-built twin of test/lab/natLab.ts: same names, addresses and nft rule.
#
#   natlab.sh up [RUN_ID] [--hosts N] [--hold SECONDS]
#   natlab.sh down RUN_ID
#   natlab.sh status [RUN_ID]
#
# Topology (everything lives in namespaces lw<RUN_ID>-*; nothing in the root ns):
#   lan0..lanN-1 (10.77.0.2..) eth0 --veth-- lanK@br-lan 10.77.0.1 [rtr] wan 192.0.2.2 --veth-- eth0 192.0.2.1 [wan]
# rtr masquerades out of "wan" (nft table ip lab_nat) and forwards; IPv6 is off
# everywhere so the lab stays quiet for counters and conntrack.
#
# `up` without --hold marks the lab "manual" so sweepStaleLabs() in the tests
# leaves it alone; `up --hold S` records this shell's pid and tears down on exit.
set -eu

PIDDIR=/run/lanwatch-lab
LAN_NET=10.77.0
RTR_LAN_IP=10.77.0.1
WAN_IP=192.0.2.1
RTR_WAN_IP=192.0.2.2

usage() { echo "usage: $0 up [RUN_ID] [--hosts N] [--hold SECONDS] | down RUN_ID | status [RUN_ID]" >&2; exit 2; }

[ $# -ge 1 ] || usage
cmd=$1; shift
id=''; hosts=1; hold=''
while [ $# -gt 0 ]; do
  case $1 in
    --hosts) hosts=${2:?}; shift 2 ;;
    --hold) hold=${2:?}; shift 2 ;;
    -*) usage ;;
    *) id=$1; shift ;;
  esac
done
if [ -n "$id" ]; then
  case $id in *[!0-9a-z]*) echo "RUN_ID must be [0-9a-z]{1,8}" >&2; exit 2 ;; esac
  [ ${#id} -le 8 ] || { echo "RUN_ID must be at most 8 chars" >&2; exit 2; }
fi
case $hosts in ''|*[!0-9]*) usage ;; esac
[ "$hosts" -ge 1 ] && [ "$hosts" -le 200 ] || { echo "--hosts must be 1..200" >&2; exit 2; }

lab_ns() { ip netns list | awk '{print $1}' | grep -E "^lw$1-(rtr|wan|lan[0-9]+)\$" || true; }

down() {
  for ns in $(lab_ns "$1"); do
    # Processes keep a deleted namespace (and its veths) alive, so kill them first.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
    rm -f "$PIDDIR/$ns.pid"
  done
}

up() {
  R=lw$id-rtr; W=lw$id-wan
  if [ -n "$(lab_ns "$id")" ]; then echo "lab $id already exists" >&2; exit 1; fi
  mkdir -p "$PIDDIR"
  if [ -n "$hold" ]; then owner="$$ $(sed 's/.*) //' /proc/$$/stat | cut -d' ' -f20)"; else owner=manual; fi
  i=0; all="$R $W"
  while [ $i -lt "$hosts" ]; do all="$all lw$id-lan$i"; i=$((i + 1)); done
  for ns in $all; do echo "$owner" > "$PIDDIR/$ns.pid"; ip netns add "$ns"; done
  for ns in $all; do
    ip netns exec "$ns" sysctl -eqw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" link set lo up
  done
  ip netns exec "$R" sysctl -eqw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=0
  # No IGMP snooping (OpenWrt default): with it, rtr's own IGMP reports land in conntrack.
  ip -n "$R" link add name br-lan type bridge stp_state 0 mcast_snooping 0
  ip -n "$R" addr add $RTR_LAN_IP/24 dev br-lan
  ip -n "$R" link set br-lan up
  i=0
  while [ $i -lt "$hosts" ]; do
    L=lw$id-lan$i
    ip -n "$R" link add name lan$i type veth peer name eth0 netns "$L"
    ip -n "$R" link set lan$i master br-lan up
    ip -n "$L" addr add $LAN_NET.$((i + 2))/24 dev eth0
    ip -n "$L" link set eth0 up
    ip -n "$L" route add default via $RTR_LAN_IP
    i=$((i + 1))
  done
  ip -n "$R" link add name wan type veth peer name eth0 netns "$W"
  ip -n "$R" addr add $RTR_WAN_IP/24 dev wan
  ip -n "$R" link set wan up
  ip -n "$W" addr add $WAN_IP/24 dev eth0
  ip -n "$W" link set eth0 up
  # Default route upstream (the lab's own wan namespace, which routes nowhere else).
  ip -n "$R" route add default via $WAN_IP dev wan
  # oifname (not oif) so the rule survives the wan veth being deleted and re-created.
  printf 'table ip lab_nat {\n chain postrouting {\n  type nat hook postrouting priority srcnat; policy accept;\n  oifname "wan" masquerade\n }\n}\n' |
    ip netns exec "$R" nft -f -
  echo "lab $id up: $all"
  echo "enter:  ip netns exec $R bash     (also lw$id-lan0 .. lw$id-lan$((hosts - 1)), $W)"
  echo "try:    ip netns exec lw$id-lan0 ping -c 1 -W 1 $WAN_IP; ip netns exec $R conntrack -L"
  echo "remove: $0 down $id"
}

status() {
  if [ -n "$1" ]; then set -- $(lab_ns "$1"); else set -- $(ip netns list | awk '{print $1}' | grep -E '^lw[0-9a-z]+-(rtr|wan|lan[0-9]+)$' || true); fi
  [ $# -gt 0 ] || { echo "no lab namespaces"; return 0; }
  for ns in "$@"; do
    echo "== $ns (owner: $(cat "$PIDDIR/$ns.pid" 2>/dev/null || echo '?'))"
    ip -n "$ns" -br addr
  done
}

case $cmd in
  up)
    [ -n "$id" ] || id=$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
    if [ -n "$hold" ]; then
      case $hold in *[!0-9]*) usage ;; esac
      spid=''
      trap '[ -z "$spid" ] || kill "$spid" 2>/dev/null || true; down "$id"' EXIT
      trap 'exit 130' INT
      trap 'exit 143' TERM
    else
      # A half-built lab is worse than none.
      trap 'st=$?; [ $st -eq 0 ] || down "$id"' EXIT
    fi
    up
    if [ -n "$hold" ]; then
      echo "holding for $hold s (Ctrl-C or SIGTERM tears down)"
      # Background + wait so a trapped signal interrupts the hold at once.
      sleep "$hold" & spid=$!
      wait "$spid"
    fi
    ;;
  down) [ -n "$id" ] || usage; down "$id"; echo "lab $id down" ;;
  status) status "$id" ;;
  *) usage ;;
esac
