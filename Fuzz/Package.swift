// swift-tools-version:6.1
// oopsd's libFuzzer targets: a package of its own, so that `swift build` of oopsd never builds them. Built by
// `Fuzz/run` with `-sanitize=fuzzer,address` (every target exports LLVMFuzzerTestOneInput and its main runs
// libFuzzer's driver), against oopsd's own modules through the OopsdFuzzable product.
import PackageDescription

let targets = ["elf", "notes", "vmcoreinfo", "printk", "kallsyms", "pagewalk", "kdump", "config", "json"]

let package = Package(
    name: "oopsd-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "oopsd", path: "..")],
    targets: [
        // The target bodies, with the test fixtures they build inputs from (symlinks into Tests/VMCoreTests).
        .target(name: "FuzzTargets", dependencies: ["CLibFuzzer", .product(name: "OopsdFuzzable", package: "oopsd")]),
        // The declaration of libFuzzer's driver, which each target's main calls.
        .target(name: "CLibFuzzer"),
    ]
        + targets.map { .executableTarget(name: "fuzz-\($0)", dependencies: ["FuzzTargets"]) }
)
