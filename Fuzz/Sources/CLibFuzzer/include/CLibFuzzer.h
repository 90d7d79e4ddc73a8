// libFuzzer's driver, for fuzz executables whose main() is Swift's: SwiftPM always gives an executable target a
// main of its own, so libFuzzer's main is not linked and the Swift main hands the command line to the driver.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
