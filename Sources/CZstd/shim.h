// ZSTD_STATIC_LINKING_ONLY: ZSTD_c_literalCompressionMode, which the kdump writer sets for pages mostly of zero
// words. oopsd-capture links libzstd statically; for the shared library the parameter is an advanced one, and a
// library that refused it would leave its default (literals Huffman-coded), not fail.
// oopsd-capture's libzstd.a is Debian 13's 1.5.7 (.build-deps/libzstd, scripts/install-deps), compiled against the
// host's zstd.h (bookworm: 1.5.4): the functions called are stable API, and ZSTD_c_literalCompressionMode is
// ZSTD_c_experimentalParam5, 1002, in both headers.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

// The parameter's macro aliases an enum constant, which Swift does not import.
static const ZSTD_cParameter oopsd_ZSTD_c_literalCompressionMode = ZSTD_c_literalCompressionMode;
