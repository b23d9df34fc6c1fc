/*
 * What a second thread costs a process's descriptor calls, apart from any
 * server (issue 4, BENCHMARKS.md, decisions). Run by hand:
 *
 *   gcc -O2 -o /tmp/threadcost bench/threadcost.c -lpthread
 *   for mode in 0 1 2; do /tmp/threadcost $mode; done
 *
 * Mode 0: one thread. Mode 1: an idle second thread (parked in pause()).
 * Mode 2: a second thread started and joined before the measurement.
 * Prints the best of 7 averages of 200,000 one-byte write + read pairs on
 * a socketpair, through glibc's wrappers and through raw syscall().
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void *parked(void *arg) { pause(); return arg; }
static void *done(void *arg) { return arg; }

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

/* Nanoseconds per write + read of one byte, through glibc or syscall(). */
static double pairs(int fds[2], int raw, long n) {
  char byte = 1;
  double start = now_ns();
  for (long i = 0; i < n; i++) {
    long wrote, got;
    if (raw) {
      wrote = syscall(SYS_write, fds[0], &byte, 1);
      got = syscall(SYS_read, fds[1], &byte, 1);
    } else {
      wrote = write(fds[0], &byte, 1);
      got = read(fds[1], &byte, 1);
    }
    /* A failing call would be timed as a cheap one: stop instead. */
    if (wrote != 1 || got != 1) {
      perror(raw ? "syscall write/read" : "write/read");
      exit(1);
    }
  }
  return (now_ns() - start) / n;
}

int main(int argc, char **argv) {
  int mode = argc > 1 ? atoi(argv[1]) : 0;
  int fds[2];
  pthread_t thread;
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
    perror("socketpair");
    return 1;
  }
  if (mode == 1 && pthread_create(&thread, 0, parked, 0) != 0) return 1;
  if (mode == 2) {
    if (pthread_create(&thread, 0, done, 0) != 0) return 1;
    pthread_join(thread, 0);
    usleep(1000); /* the kernel's end of the thread comes after the join */
  }
  long n = 200000;
  pairs(fds, 0, n); /* warm-up */
  double libc = 1e18, raw = 1e18;
  for (int round = 0; round < 7; round++) {
    double t = pairs(fds, 0, n);
    if (t < libc) libc = t;
    t = pairs(fds, 1, n);
    if (t < raw) raw = t;
  }
  printf("mode %d: glibc %.0f ns, raw syscall %.0f ns per write + read\n", mode, libc, raw);
  return 0;
}
