/*
 * cttime: times one command the way the conntrack bench needs it (ctSection.ts):
 * `cttime CMD ARGS...` forks, execs CMD with stdout and stderr on /dev/null, waits, and prints
 * {"ms": wall time from fork to exit, "maxRssKb": the child's peak RSS, "status": exit code}.
 * Run inside the bench namespace, so `ip netns exec` and Node's spawn are outside the figure;
 * what remains is fork+exec (~1 ms) and the program's own start. The child's peak RSS is
 * wait4's ru_maxrss, which counts the pre-exec image too: a fork of this small program.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: cttime CMD [ARGS...]\n");
    return 2;
  }
  double t0 = now_ms();
  pid_t pid = fork();
  if (pid < 0) {
    perror("cttime: fork");
    return 1;
  }
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    if (null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) _exit(126);
    execvp(argv[1], argv + 1);
    _exit(127);
  }
  int status;
  struct rusage ru;
  while (wait4(pid, &status, 0, &ru) < 0) {
    if (errno != EINTR) {
      perror("cttime: wait4");
      return 1;
    }
  }
  double ms = now_ms() - t0;
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  printf("{\"ms\":%.3f,\"maxRssKb\":%ld,\"status\":%d}\n", ms, ru.ru_maxrss, code);
  return 0;
}
