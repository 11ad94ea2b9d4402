/*
 * ctdump: the floor for a conntrack table dump (issue 5: lanwatch must stay within 1.25x of
 * a minimal C program that only receives the dump). Built with gcc -O2 by the `conntrack`
 * section of `npm run bench` (ctSection.ts) and run inside its namespace.
 *
 * `ctdump [dumps]`: one NETLINK_NETFILTER socket, default receive buffer; per dump, the
 * 20-byte IPCTNL_MSG_CT_GET request with NLM_F_REQUEST|NLM_F_DUMP, family AF_UNSPEC
 * (ctnetlink.md §2.4), then recv() into one 32 KiB buffer until NLMSG_DONE, walking only the
 * message headers to count messages and find DONE/ERROR. No attribute is looked at.
 *
 * Output: one JSON line per dump (ms from send to DONE, datagrams, bytes, messages,
 * dumpIntr), then {"maxRssKb": …}: the process's peak RSS (VmHWM).
 */
#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint8_t buf[32 * 1024];

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void die(const char *what) {
  fprintf(stderr, "ctdump: %s: %s\n", what, strerror(errno));
  exit(1);
}

int main(int argc, char **argv) {
  int dumps = argc > 1 ? atoi(argv[1]) : 1;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) die("socket(NETLINK_NETFILTER)");
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};

  for (int d = 0; d < dumps; d++) {
    struct {
      struct nlmsghdr h;
      struct nfgenmsg g;
    } req = {
        .h = {.nlmsg_len = sizeof req,
              .nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET,
              .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
              .nlmsg_seq = (uint32_t)d + 1},
        .g = {.nfgen_family = AF_UNSPEC, .version = NFNETLINK_V0},
    };
    long datagrams = 0, bytes = 0, messages = 0, intr = 0;
    double t0 = now_ms();
    if (sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) die("sendto");
    for (int done = 0; !done;) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        die("recv");
      }
      datagrams++;
      bytes += n;
      for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_flags & NLM_F_DUMP_INTR) intr = 1;
        if (h->nlmsg_type == NLMSG_DONE) { done = 1; break; }
        if (h->nlmsg_type == NLMSG_ERROR) {
          errno = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
          die("dump");
        }
        messages++;
      }
    }
    double ms = now_ms() - t0;
    printf("{\"ms\":%.3f,\"datagrams\":%ld,\"bytes\":%ld,\"messages\":%ld,\"dumpIntr\":%ld}\n", ms, datagrams, bytes,
           messages, intr);
  }
  /* VmHWM, not getrusage's ru_maxrss: that one carries over the peak of the image before
   * exec (here the fork of a Node process by ip netns exec). */
  long hwm = -1;
  char line[256];
  FILE *f = fopen("/proc/self/status", "r");
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "VmHWM: %ld", &hwm) == 1) break;
  if (f) fclose(f);
  printf("{\"maxRssKb\":%ld}\n", hwm);
  return 0;
}
