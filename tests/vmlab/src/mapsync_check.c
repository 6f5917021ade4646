/* mapsync_check PATH ok|eopnotsupp
 * Maps PATH (created, 4 MiB) with MAP_SHARED_VALIDATE | MAP_SYNC and checks the result
 * against the expectation: "ok" on a DAX file system (the mapping succeeds, stores made
 * through it are read back with read(2) byte for byte), "eopnotsupp" elsewhere (the
 * kernel refuses MAP_SYNC on a file system without DAX). Exits 0 when it matches. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

enum { kSize = 4 << 20 };

int main(int argc, char** argv) {
  if (argc != 3 || (strcmp(argv[2], "ok") != 0 && strcmp(argv[2], "eopnotsupp") != 0)) {
    fprintf(stderr, "usage: %s PATH ok|eopnotsupp\n", argv[0]);
    return 2;
  }
  const int expect_ok = strcmp(argv[2], "ok") == 0;
  int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || ftruncate(fd, kSize) != 0) {
    fprintf(stderr, "mapsync_check: create %s: %s\n", argv[1], strerror(errno));
    return 1;
  }
  unsigned char* p = mmap(NULL, kSize, PROT_READ | PROT_WRITE,
                          MAP_SHARED_VALIDATE | MAP_SYNC, fd, 0);
  if (p == MAP_FAILED) {
    int err = errno;
    if (!expect_ok && err == EOPNOTSUPP) {
      printf("mapsync_check: %s: MAP_SYNC refused with EOPNOTSUPP as expected\n", argv[1]);
      return 0;
    }
    fprintf(stderr, "mapsync_check: %s: mmap MAP_SYNC failed: %s (expected %s)\n", argv[1],
            strerror(err), argv[2]);
    return 1;
  }
  if (!expect_ok) {
    fprintf(stderr, "mapsync_check: %s: MAP_SYNC mapping succeeded, expected EOPNOTSUPP\n",
            argv[1]);
    return 1;
  }
  unsigned x = 0x12345678u;
  for (size_t i = 0; i < kSize; ++i) {
    x = x * 1103515245u + 12345u;
    p[i] = (unsigned char)(x >> 16);
  }
  /* With MAP_SYNC the file system metadata is durable on a write fault; the data still
   * needs a cache flush, which msync provides portably. */
  if (msync(p, kSize, MS_SYNC) != 0 || munmap(p, kSize) != 0) {
    fprintf(stderr, "mapsync_check: msync/munmap: %s\n", strerror(errno));
    return 1;
  }
  unsigned char* back = malloc(kSize);
  if (!back || pread(fd, back, kSize, 0) != kSize) {
    fprintf(stderr, "mapsync_check: read back: %s\n", strerror(errno));
    return 1;
  }
  x = 0x12345678u;
  for (size_t i = 0; i < kSize; ++i) {
    x = x * 1103515245u + 12345u;
    if (back[i] != (unsigned char)(x >> 16)) {
      fprintf(stderr, "mapsync_check: byte %zu differs after MAP_SYNC stores\n", i);
      return 1;
    }
  }
  close(fd);
  printf("mapsync_check: %s: MAP_SYNC mapping works, %d bytes read back\n", argv[1], kSize);
  return 0;
}
