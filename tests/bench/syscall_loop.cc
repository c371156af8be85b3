// Syscall-heavy workload for scripts/bench-overhead.sh: a tight
// open/read/close loop on a small file and a pipe write/read loop. Prints
// the elapsed nanoseconds of each loop and the syscall count.
//
// usage: aw-bench-syscalls FILE ITERATIONS
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

static long long Now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s FILE ITERATIONS\n", argv[0]);
    return 2;
  }
  const char* path = argv[1];
  const long n = atol(argv[2]);
  char buf[64];
  long long t0 = Now();
  for (long i = 0; i < n; ++i) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 1;
    if (read(fd, buf, sizeof(buf)) < 0) return 1;
    close(fd);
  }
  long long t1 = Now();
  int p[2];
  if (pipe(p) != 0) return 1;
  for (long i = 0; i < n; ++i) {
    if (write(p[1], buf, 16) != 16) return 1;
    if (read(p[0], buf, 16) != 16) return 1;
  }
  long long t2 = Now();
  printf("open_read_close_ns=%lld pipe_ns=%lld syscalls=%ld\n", t1 - t0, t2 - t1,
         n * 5);
  return 0;
}
