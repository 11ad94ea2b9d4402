/*
 * ctfill: fills the conntrack table of the current network namespace with N entries created
 * directly with IPCTNL_MSG_CT_NEW over NETLINK_NETFILTER, many messages per sendmsg.
 * Built and run by the `conntrack` section of `npm run bench` (ctSection.ts), inside a
 * throw-away namespace: `ip netns exec NS ctfill N [nat|reply]`.
 *
 * The table looks like a home router's: 50 LAN hosts 10.77.0.2..51 with a skewed share
 * (host k holds ~1/k^1.1 of the table, so 10.77.0.2 leads), TCP established / time_wait /
 * syn_sent, UDP and ICMP, replied or not, 75 % of the flows SNAT'd to the WAN address
 * 203.0.113.7 (to 198.18.0.0/15 "internet" servers), the rest to 10.78.0.0/16 without NAT.
 *
 * SNAT: mode `nat` (default) sends CTA_NAT_SRC {V4_MINIP = V4_MAXIP = WAN, port = the
 * source port} with a plain reply tuple, so the kernel sets IPS_SRC_NAT and rewrites the
 * reply tuple to the WAN address, as a masquerading router would (IPS_SRC_NAT cannot be set
 * through CTA_STATUS: it is in IPS_UNCHANGEABLE_MASK). Mode `reply` writes the WAN address
 * into the reply tuple itself (no IPS_SRC_NAT bit), for kernels without NAT.
 *
 * Every tuple is unique (source port or ICMP id = i % 64000, destination block = i / 64000),
 * so NLM_F_EXCL never fires and the NAT never has to pick another port.
 * CTA_STATUS always carries IPS_CONFIRMED: without it CT_NEW fails with EBUSY (ctnetlink.md §2.5).
 *
 * Output: one JSON line on stdout: created, errors (+ first errno), ms, and the plan per host
 * (entries and per-category counts), which the bench compares with what lanwatch aggregated.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/icmp.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_conntrack_tcp.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define HOSTS 50
#define BATCH_BYTES (256 * 1024)
#define TIMEOUT_S (2 * 86400) /* well inside 2^31 jiffies at any HZ */
#define WAN_ADDR 0xCB007107u  /* 203.0.113.7 */

enum cat { TCP_EST, TCP_TW, TCP_SYN, UDP_OK, UDP_UNREPLIED, ICMP_OK, ICMP_UNREPLIED, NCAT };
static const char *cat_name[NCAT] = {"tcpEstablished", "tcpTimeWait", "tcpSynSent", "udpReplied",
                                      "udpUnreplied", "icmpReplied", "icmpUnreplied"};

static uint8_t buf[BATCH_BYTES];
static size_t used;
static int fd;
static long errors, first_errno;
static long plan[HOSTS][NCAT + 1]; /* + snat count */
static int mode_nat = 1;

static uint64_t mix(uint64_t x) { /* splitmix64 */
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

static void die(const char *what) {
  fprintf(stderr, "ctfill: %s: %s\n", what, strerror(errno));
  exit(1);
}

static struct nlattr *put(uint16_t type, const void *data, uint16_t len) {
  struct nlattr *a = (struct nlattr *)(buf + used);
  a->nla_type = type;
  a->nla_len = NLA_HDRLEN + len;
  if (len) memcpy((uint8_t *)a + NLA_HDRLEN, data, len);
  size_t total = NLA_ALIGN(a->nla_len);
  memset((uint8_t *)a + a->nla_len, 0, total - a->nla_len);
  used += total;
  return a;
}
static struct nlattr *nest(uint16_t type) { return put(type | NLA_F_NESTED, NULL, 0); }
static void end(struct nlattr *a) { a->nla_len = (uint16_t)((buf + used) - (uint8_t *)a); }
static void put_u8(uint16_t type, uint8_t v) { put(type, &v, 1); }
static void put_be16(uint16_t type, uint16_t v) { uint16_t b = htons(v); put(type, &b, 2); }
static void put_be32(uint16_t type, uint32_t v) { uint32_t b = htonl(v); put(type, &b, 4); }

/* For ICMP, `sport` is the echo id in both directions and `dport` is unused. */
static void tuple(uint16_t type, uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                  uint8_t icmp_type) {
  struct nlattr *t = nest(type);
  struct nlattr *ip = nest(CTA_TUPLE_IP);
  put_be32(CTA_IP_V4_SRC, src);
  put_be32(CTA_IP_V4_DST, dst);
  end(ip);
  struct nlattr *p = nest(CTA_TUPLE_PROTO);
  put_u8(CTA_PROTO_NUM, proto);
  if (proto == IPPROTO_ICMP) {
    put_be16(CTA_PROTO_ICMP_ID, sport);
    put_u8(CTA_PROTO_ICMP_TYPE, icmp_type);
    put_u8(CTA_PROTO_ICMP_CODE, 0);
  } else {
    put_be16(CTA_PROTO_SRC_PORT, sport);
    put_be16(CTA_PROTO_DST_PORT, dport);
  }
  end(p);
  end(t);
}

static void drain(int flags) {
  static uint8_t rbuf[64 * 1024];
  for (;;) {
    ssize_t n = recv(fd, rbuf, sizeof rbuf, flags);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno == ENOBUFS) { errors++; if (!first_errno) first_errno = ENOBUFS; continue; }
      die("recv");
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      int err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
      if (err == 0) continue;
      errors++;
      if (!first_errno) first_errno = -err;
    }
  }
}

static void flush(void) {
  if (!used) return;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(fd, buf, used, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) die("sendto");
  used = 0;
  drain(MSG_DONTWAIT);
}

static const uint16_t tcp_ports[] = {443, 443, 443, 443, 80, 993, 22, 5228};
static const uint16_t udp_ports[] = {443, 443, 53, 123, 3478, 51820};

static void entry(long i, uint32_t host, enum cat c, int snat) {
  if (used + 512 > sizeof buf) flush();
  uint64_t r = mix((uint64_t)i * 7919u + 17u);
  struct nlmsghdr *h = (struct nlmsghdr *)(buf + used);
  h->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
  h->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
  h->nlmsg_seq = (uint32_t)i;
  h->nlmsg_pid = 0;
  used += NLMSG_HDRLEN;
  struct nfgenmsg *g = (struct nfgenmsg *)(buf + used);
  g->nfgen_family = AF_INET;
  g->version = NFNETLINK_V0;
  g->res_id = 0;
  used += NLMSG_ALIGN(sizeof *g);

  uint16_t sport = (uint16_t)(1024 + i % 64000);
  uint32_t block = (uint32_t)(i / 64000);
  uint32_t dst = snat ? 0xC6120000u + block * 1024 + (uint32_t)(r % 1024)       /* 198.18.0.0/15 */
                      : 0x0A4E0000u + block * 1024 + 1 + (uint32_t)(r % 1000);  /* 10.78.0.0/16 */
  uint8_t proto = c <= TCP_SYN ? IPPROTO_TCP : c <= UDP_UNREPLIED ? IPPROTO_UDP : IPPROTO_ICMP;
  uint16_t dport = proto == IPPROTO_TCP ? tcp_ports[(r >> 20) % 8] : udp_ports[(r >> 20) % 6];
  int replied = !(c == TCP_SYN || c == UDP_UNREPLIED || c == ICMP_UNREPLIED);
  int nat_attr = snat && mode_nat;
  uint32_t reply_dst = snat && !nat_attr ? WAN_ADDR : host;

  tuple(CTA_TUPLE_ORIG, proto, host, dst, sport, dport, ICMP_ECHO);
  if (proto == IPPROTO_ICMP) tuple(CTA_TUPLE_REPLY, proto, dst, reply_dst, sport, 0, ICMP_ECHOREPLY);
  else tuple(CTA_TUPLE_REPLY, proto, dst, reply_dst, dport, sport, 0);
  uint32_t status = IPS_CONFIRMED;
  if (replied) status |= IPS_SEEN_REPLY | ((r >> 40) % 4 ? IPS_ASSURED : 0);
  if (c == TCP_EST || c == TCP_TW) status |= IPS_ASSURED;
  put_be32(CTA_STATUS, status);
  put_be32(CTA_TIMEOUT, TIMEOUT_S - (uint32_t)(r % 3600));
  if (proto == IPPROTO_TCP) {
    struct nlattr *pi = nest(CTA_PROTOINFO);
    struct nlattr *tcp = nest(CTA_PROTOINFO_TCP);
    put_u8(CTA_PROTOINFO_TCP_STATE,
           c == TCP_EST ? TCP_CONNTRACK_ESTABLISHED : c == TCP_TW ? TCP_CONNTRACK_TIME_WAIT : TCP_CONNTRACK_SYN_SENT);
    end(tcp);
    end(pi);
  }
  if (nat_attr) {
    struct nlattr *n = nest(CTA_NAT_SRC);
    put_be32(CTA_NAT_V4_MINIP, WAN_ADDR);
    put_be32(CTA_NAT_V4_MAXIP, WAN_ADDR);
    if (proto != IPPROTO_ICMP) {
      struct nlattr *p = nest(CTA_NAT_PROTO);
      put_be16(CTA_PROTONAT_PORT_MIN, sport);
      put_be16(CTA_PROTONAT_PORT_MAX, sport);
      end(p);
    }
    end(n);
  }
  h->nlmsg_len = (uint32_t)((buf + used) - (uint8_t *)h);
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void setopt(int level, int name, int value) {
  if (setsockopt(fd, level, name, &value, sizeof value) < 0) die("setsockopt");
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 250000;
  if (argc > 2) mode_nat = strcmp(argv[2], "reply") != 0;
  if (n <= 0) { fprintf(stderr, "usage: ctfill N [nat|reply]\n"); return 2; }

  fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) die("socket(NETLINK_NETFILTER)");
  setopt(SOL_SOCKET, SO_SNDBUFFORCE, 4 << 20);
  setopt(SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20);
  setopt(SOL_NETLINK, NETLINK_CAP_ACK, 1); /* errors carry the header only, not the message */

  /* Entries per host: weight 1/k^1.1, largest remainder, so the counts add up to n. */
  double w[HOSTS], sum = 0;
  long count[HOSTS], given = 0;
  for (int k = 0; k < HOSTS; k++) sum += w[k] = 1.0 / pow(k + 1, 1.1);
  for (int k = 0; k < HOSTS; k++) given += count[k] = (long)floor(n * w[k] / sum);
  for (int k = 0; given < n; k = (k + 1) % HOSTS, given++) count[k]++;

  double t0 = now_ms();
  long i = 0;
  for (int k = 0; k < HOSTS; k++) {
    uint32_t host = 0x0A4D0002u + (uint32_t)k; /* 10.77.0.2 + k */
    for (long j = 0; j < count[k]; j++, i++) {
      uint64_t r = mix((uint64_t)i);
      unsigned pct = (unsigned)(r % 100);
      enum cat c = pct < 40 ? TCP_EST : pct < 52 ? TCP_TW : pct < 60 ? TCP_SYN : pct < 84 ? UDP_OK
                 : pct < 92 ? UDP_UNREPLIED : pct < 96 ? ICMP_OK : ICMP_UNREPLIED;
      int snat = (r >> 32) % 4 != 0;
      entry(i, host, c, snat);
      plan[k][c]++;
      plan[k][NCAT] += snat;
    }
  }
  flush();
  drain(MSG_DONTWAIT);
  double ms = now_ms() - t0;

  printf("{\"requested\":%ld,\"errors\":%ld,\"firstErrno\":%ld,\"firstError\":\"%s\",\"mode\":\"%s\",\"ms\":%.1f,\"hosts\":[",
         n, errors, first_errno, first_errno ? strerror((int)first_errno) : "", mode_nat ? "nat" : "reply", ms);
  for (int k = 0; k < HOSTS; k++) {
    printf("%s{\"ip\":\"10.77.0.%d\",\"entries\":%ld", k ? "," : "", 2 + k, count[k]);
    for (int c = 0; c < NCAT; c++) printf(",\"%s\":%ld", cat_name[c], plan[k][c]);
    printf(",\"snat\":%ld}", plan[k][NCAT]);
  }
  printf("]}\n");
  return errors ? 1 : 0;
}
