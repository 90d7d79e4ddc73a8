// ZSTD_STATIC_LINKING_ONLY: ZSTD_c_literalCompressionMode, which the kdump writer sets for pages mostly of zero
// words. oopsd-capture links libzstd statically; for the shared library the parameter is an advanced one, and a
// library that refused it would leave its default (literals Huffman-coded), not fail.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

// The parameter's macro aliases an enum constant, which Swift does not import.
static const ZSTD_cParameter oopsd_ZSTD_c_literalCompressionMode = ZSTD_c_literalCompressionMode;
