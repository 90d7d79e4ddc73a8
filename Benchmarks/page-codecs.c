// Benchmarks/page-codecs.c: how fast one core compresses a dump's kept pages one at a time, as the kdump format
// stores them, with zstd (the level makedumpfile -z uses, and variants: oopsd's is one) and LZO1X-1 (makedumpfile -l).
// Input: a level-31 ELF vmcore from oopsd-capture; every non-zero 4 KiB block of the file counts as a page (the
// headers are a few blocks of tens of thousands). Each codec runs ROUNDS times (default 5), taking turns, and its
// time is the least CPU time of its rounds: on a shared host every disturbance only adds. The last two lines give
// the ratios of compression alone, oopsd's level-31 zstd on two cores (half its one-core time) against makedumpfile's
// -z and -l on one. A whole capture adds reading, the page walk and writing, which oopsd spreads over its threads.
// Built and run by Benchmarks/page-codecs.
#define ZSTD_STATIC_LINKING_ONLY  // ZSTD_c_literalCompressionMode
#include <lzo/lzo1x.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

enum { PAGE = 4096 };

static double seconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

// Whether at least `sixteenths`/16 of the page's 8-byte words are zero, as oopsd-capture decides it with 5
// (PageCompressor.isSparse; 7 before 2026-12-07): one word in 32 first, and a page with fewer than 3 of those 16 zero
// is dense without a count. oopsd-capture stores a sparse page's literals raw and searches it as zstd level 3 does.
static int sparse(const char *page, int sixteenths) {
    uint64_t word;
    int sampled = 0, zero = 0;
    for (size_t i = 0; i < PAGE; i += PAGE / 16) {
        memcpy(&word, page + i, 8);
        sampled += word == 0;
    }
    if (sampled < 3) return 0;
    for (size_t i = 0; i < PAGE; i += 8) {
        memcpy(&word, page + i, 8);
        zero += word == 0;
    }
    return zero >= PAGE / 8 * sixteenths / 16;
}

// How many different byte values the page holds in 8 bytes of every `stride` bytes, the i-th 8 from byte 8 * (i % 8)
// of its stretch (PageCompressor.distinctBytes).
static int distinct(const char *page, size_t stride) {
    unsigned char seen[256] = {0};
    int count = 0;
    for (size_t line = 0; line * stride + 64 <= PAGE; line++)
        for (size_t b = 0; b < 8; b++) {
            unsigned char value = (unsigned char)page[line * stride + 8 * (line % 8) + b];
            count += !seen[value];
            seen[value] = 1;
        }
    return count;
}

// Whether the page's bytes are as varied as random bytes, as oopsd-capture decides it
// (PageCompressor.looksIncompressible): 44 different values among 64 sampled bytes, then 210 among 512. oopsd-capture
// stores such a dense page raw without compressing it.
static int incompressible(const char *page) { return distinct(page, PAGE / 8) >= 44 && distinct(page, 64) >= 210; }

// A page that does not get smaller is stored as it is, as both tools do.
static size_t stored(size_t size) { return size < PAGE ? size : PAGE; }

// One codec's pass over every page: the bytes it stores.
typedef size_t (*Pass)(const char *pages, size_t count, int variant);

struct Variant {
    const char *name;
    int level, minMatch, rawLiterals, untried, sparseLevel, sparseSixteenths;
};

// rawLiterals: 0 Huffman-coded, 1 stored raw, 2 stored raw on sparse pages only (the zero-word count timed too).
// untried: a dense page as varied as random bytes is stored raw without compressing it (the sample timed too).
// sparseLevel: the level of a sparse page's context (with rawLiterals 2), else `level`; sparseSixteenths: which
// pages are sparse (with rawLiterals 2).
static const struct Variant variants[] = {
    {"zstd level 1 (makedumpfile -z)", 1, 0, 0, 0},
    {"zstd level 1, 4-byte matches", 1, 4, 0, 0},
    {"the same, literals raw with 7/16 zero words", 1, 4, 2, 0, 0, 7},
    {"the same, random-looking pages untried", 1, 4, 2, 1, 0, 7},
    {"sparse: 5/16 zero words, level 3 (oopsd)", 1, 4, 2, 1, 3, 5},
    {"zstd level 1, literals not Huffman-coded", 1, 0, 1, 0},
    {"zstd level -1", -1, 0, 0, 0},
    {"zstd level 3", 3, 0, 0, 0},
};
enum { VARIANTS = sizeof variants / sizeof variants[0], MAKEDUMPFILE_Z = 0, OOPSD = 4 };

static char out[2 * PAGE];

static size_t zstdPass(const char *pages, size_t count, int v) {
    ZSTD_CCtx *contexts[2];
    for (int raw = 0; raw < 2; raw++) {
        contexts[raw] = ZSTD_createCCtx();
        int level = raw && variants[v].rawLiterals == 2 && variants[v].sparseLevel ? variants[v].sparseLevel
                                                                                 : variants[v].level;
        ZSTD_CCtx_setParameter(contexts[raw], ZSTD_c_compressionLevel, level);
        if (variants[v].minMatch) ZSTD_CCtx_setParameter(contexts[raw], ZSTD_c_minMatch, variants[v].minMatch);
        if (raw) ZSTD_CCtx_setParameter(contexts[raw], ZSTD_c_literalCompressionMode, ZSTD_ps_disable);
    }
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        const char *page = pages + i * PAGE;
        int raw = variants[v].rawLiterals == 2 ? sparse(page, variants[v].sparseSixteenths) : variants[v].rawLiterals;
        if (variants[v].untried && !raw && incompressible(page)) {
            total += PAGE;
            continue;
        }
        size_t size = ZSTD_compress2(contexts[raw], out, sizeof out, page, PAGE);
        total += ZSTD_isError(size) ? PAGE : stored(size);
    }
    for (int raw = 0; raw < 2; raw++) ZSTD_freeCCtx(contexts[raw]);
    return total;
}

static size_t lzoPass(const char *pages, size_t count, int variant) {
    (void)variant;
    static char work[LZO1X_1_MEM_COMPRESS];
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        lzo_uint size = sizeof out;
        lzo1x_1_compress((const unsigned char *)pages + i * PAGE, PAGE, (unsigned char *)out, &size, work);
        total += stored(size);
    }
    return total;
}

int main(int argc, char **argv) {
    int rounds = argc == 3 ? atoi(argv[2]) : 5;
    if (argc < 2 || argc > 3 || rounds < 1) {
        fprintf(stderr, "usage: page-codecs VMCORE [ROUNDS]\n");
        return 2;
    }
    FILE *file = fopen(argv[1], "rb");
    if (!file) {
        perror(argv[1]);
        return 1;
    }
    static char page[PAGE], zero[PAGE];
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
    if (lzo_init() != LZO_E_OK) return 1;
    printf("%zu non-zero pages; libzstd %s, LZO %s; one thread, least CPU time of %d rounds\n", count,
        ZSTD_versionString(), lzo_version_string(), rounds);
    // Codec VARIANTS is LZO.
    double best[VARIANTS + 1];
    size_t bytes[VARIANTS + 1];
    for (int c = 0; c <= VARIANTS; c++) best[c] = 1e9;
    for (int round = 0; round < rounds; round++) {
        for (int c = 0; c <= VARIANTS; c++) {
            Pass pass = c < VARIANTS ? zstdPass : lzoPass;
            double start = seconds();
            bytes[c] = pass(pages, count, c);
            double spent = seconds() - start;
            if (spent < best[c]) best[c] = spent;
        }
    }
    for (int c = 0; c <= VARIANTS; c++) {
        const char *name = c < VARIANTS ? variants[c].name : "LZO1X-1 (makedumpfile -l)";
        printf("%-48s %7.1f MiB %6.3f s %5.2f us/page\n", name, bytes[c] / 1048576.0, best[c], best[c] / count * 1e6);
    }
    // Compression alone: oopsd's two threads at one core's speed each, against makedumpfile's one.
    printf("compression alone, oopsd on two cores against -z on one: time %.2f at size %.2f\n",
        best[OOPSD] / 2 / best[MAKEDUMPFILE_Z], (double)bytes[OOPSD] / bytes[MAKEDUMPFILE_Z]);
    printf("compression alone, oopsd on two cores against -l on one: time %.2f at size %.2f\n",
        best[OOPSD] / 2 / best[VARIANTS], (double)bytes[OOPSD] / bytes[VARIANTS]);
    free(pages);
    return 0;
}
