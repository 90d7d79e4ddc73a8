// Benchmarks/page-codecs.c: how fast one core compresses a dump's kept pages one at a time, as the kdump format
// stores them, with zstd (the level oopsd and makedumpfile -z use, and variants) and LZO1X-1 (makedumpfile -l).
// Input: a level-31 ELF vmcore from oopsd-capture; every non-zero 4 KiB block of the file counts as a page (the
// headers are a few blocks of tens of thousands). Built and run by Benchmarks/page-codecs.
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_c_literalCompressionMode
#include <lzo/lzo1x.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

enum { PAGE = 4096 };

static double seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

// A page that does not get smaller is stored as it is, as both tools do.
static size_t stored(size_t size) { return size < PAGE ? size : PAGE; }

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: page-codecs VMCORE\n");
        return 2;
    }
    FILE *file = fopen(argv[1], "rb");
    if (!file) {
        perror(argv[1]);
        return 1;
    }
    static char page[PAGE], zero[PAGE], out[2 * PAGE];
    size_t count = 0, capacity = 1 << 16;
    char *pages = malloc(capacity * PAGE);
    while (pages && fread(page, 1, PAGE, file) == PAGE) {
        if (memcmp(page, zero, PAGE) == 0) continue;
        if (count == capacity) pages = realloc(pages, (capacity *= 2) * PAGE);
        if (pages) memcpy(pages + count * PAGE, page, PAGE);
        count++;
    }
    fclose(file);
    if (!pages) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    printf("%zu non-zero pages; libzstd %s, LZO %s; one thread\n", count, ZSTD_versionString(), lzo_version_string());
    struct {
        const char *name;
        int level, rawLiterals;
    } variants[] = {
        {"zstd level 1 (oopsd, makedumpfile -z)", 1, 0},
        {"zstd level 1, literals not Huffman-coded", 1, 1},
        {"zstd level -1", -1, 0},
        {"zstd level 3", 3, 0},
    };
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        ZSTD_CCtx *context = ZSTD_createCCtx();
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, variants[v].level);
        if (variants[v].rawLiterals)
            ZSTD_CCtx_setParameter(context, ZSTD_c_literalCompressionMode, ZSTD_ps_disable);
        size_t total = 0;
        double start = seconds();
        for (size_t i = 0; i < count; i++) {
            size_t size = ZSTD_compress2(context, out, sizeof out, pages + i * PAGE, PAGE);
            total += ZSTD_isError(size) ? PAGE : stored(size);
        }
        printf("%-44s %7.1f MiB %6.3f s\n", variants[v].name, total / 1048576.0, seconds() - start);
        ZSTD_freeCCtx(context);
    }
    if (lzo_init() != LZO_E_OK) return 1;
    static char work[LZO1X_1_MEM_COMPRESS];
    size_t total = 0;
    double start = seconds();
    for (size_t i = 0; i < count; i++) {
        lzo_uint size = sizeof out;
        lzo1x_1_compress((unsigned char *)pages + i * PAGE, PAGE, (unsigned char *)out, &size, work);
        total += stored(size);
    }
    printf("%-44s %7.1f MiB %6.3f s\n", "LZO1X-1 (makedumpfile -l)", total / 1048576.0, seconds() - start);
    free(pages);
    return 0;
}
