"""802.1Q-tagged broadcast/multicast frames for the bridge lab, sent on an AF_PACKET socket
inside a host namespace (`ip netns exec NS python3 rawFrames.py '<json spec>'`). The lab
kernel has no 8021q module, so the tag is written into the frame; the receiving port's
kernel moves it out (skb_vlan_untag) exactly as for a NIC without VLAN offload.
  {"kind": "vlan-arp" | "vlan-mdns4", "ifname": "eth0", "src": "02:..", "vid": 10,
   "count": N, "pps": R}
  vlan-arp    ARP who-has 10.88.<vid>.200 tell 10.88.<vid>.10, to ff:ff:ff:ff:ff:ff
  vlan-mdns4  UDP 10.88.<vid>.10:5353 -> 224.0.0.251:5353 (01:00:5e:00:00:fb), a DNS query
Prints {"sent": N}. Bounded: at most 20,000 frames, 5,000 per second, 30 s.
"""
import json
import socket
import struct
import sys
import time

spec = json.loads(sys.argv[1])
count = max(0, min(int(spec['count']), 20000))
pps = max(1, min(int(spec['pps']), 5000))
vid = int(spec['vid'])
assert 2 <= vid <= 98
src = bytes.fromhex(spec['src'].replace(':', ''))
me = bytes([10, 88, vid, 10])


def checksum(data):
    total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def tagged(dst, ethertype, payload):
    return dst + src + struct.pack('!HHH', 0x8100, vid, ethertype) + payload


def arp():
    body = struct.pack('!HHBBH', 1, 0x0800, 6, 4, 1) + src + me + b'\0' * 6 + bytes([10, 88, vid, 200])
    return tagged(b'\xff' * 6, 0x0806, body)


def mdns():
    query = b'\0\0\0\0\0\x01\0\0\0\0\0\0' + b'\x0d_lanwatch-lab\x04_tcp\x05local\x00' + b'\x00\x0c\x00\x01'
    udp = struct.pack('!HHHH', 5353, 5353, 8 + len(query), 0) + query
    header = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 255, 17, 0, me, bytes([224, 0, 0, 251]))
    header = header[:10] + struct.pack('!H', checksum(header)) + header[12:]
    return tagged(bytes.fromhex('01005e0000fb'), 0x0800, header + udp)


frame = {'vlan-arp': arp, 'vlan-mdns4': mdns}[spec['kind']]()
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((spec.get('ifname', 'eth0'), 0))
start = time.monotonic()
sent = 0
while sent < count and time.monotonic() - start < 30:
    due = min(count, int((time.monotonic() - start) * pps) + 1)
    while sent < due:
        s.send(frame)
        sent += 1
    time.sleep(0.002)
print(json.dumps({'sent': sent}))
