// OpenSSL's libcrypto (already linked by libcurl): SHA-256 of dump files for manifest.json, at hardware speed.
#include <openssl/evp.h>
