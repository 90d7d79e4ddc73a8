/* hugetlb-marker: give the crashed guest hugetlb pages whose contents the host can find in a dump.
 *
 *   hugetlb-marker IN_USE FREED
 *
 * Maps IN_USE + FREED huge pages (MAP_HUGETLB, the pool must hold them: /proc/sys/vm/nr_hugepages), writes a
 * 48-byte marker at the start of every 4 KiB page ("OOPSD-HUGETLB-INUSE" in the first IN_USE huge pages,
 * "OOPSD-HUGETLB-FREED" in the others, then the page's index), unmaps the FREED ones (they go back to the pool,
 * free but not cleared), prints "ready", and blocks until killed. The marker is assembled at run time so that
 * no page of this program's own file starts with it. Built on the host with `gcc -static`; see lib-guest.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void marker(char *out, const char *kind, unsigned long index)
{
    char word[16];
    /* "OOPSD" assembled from characters, never stored as one string. */
    word[0] = 'O'; word[1] = 'O'; word[2] = 'P'; word[3] = 'S'; word[4] = 'D'; word[5] = 0;
    memset(out, 0, 48);
    snprintf(out, 48, "%s-HUGETLB-%s %08lu", word, kind, index);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: hugetlb-marker IN_USE FREED\n");
        return 2;
    }
    long in_use = atol(argv[1]), freed = atol(argv[2]);
    long huge = 2L << 20, small = 4096, total = in_use + freed;
    char *map = mmap(NULL, total * huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    if (map == MAP_FAILED) {
        perror("hugetlb-marker: mmap MAP_HUGETLB");
        return 1;
    }
    for (long i = 0; i < total * huge / small; i++)
        marker(map + i * small, i < in_use * huge / small ? "INUSE" : "FREED", (unsigned long)i);
    if (freed > 0 && munmap(map + in_use * huge, freed * huge) != 0) {
        perror("hugetlb-marker: munmap");
        return 1;
    }
    printf("ready: %ld huge pages in use, %ld freed, marker at every 4 KiB page\n", in_use, freed);
    fflush(stdout);
    for (;;)
        pause();
}
