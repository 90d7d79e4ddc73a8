// swift-tools-version:6.2
// oopsd: a Linux kernel crash-dump orchestrator.
//
// Dependencies point one way: executables -> OopsService -> domain libraries -> C bindings. Each target declares
// exactly the modules its files import, no more, no fewer (scripts/check-dependencies, run by scripts/test).
// Everything `oopsd-capture` links stays free of Foundation: it runs inside the crash reservation.
import PackageDescription

// oopsd and oopsctl carry the Swift runtime (and FoundationEssentials) inside: a server has no Swift toolchain,
// so the only shared libraries they need are Debian's (the package's Depends:). FoundationEssentials' own C
// helpers are named explicitly, as -static-stdlib links them only for programs importing Foundation itself.
// Immediate binding (-z now) as Debian's hardening flags ask. Release builds only: the debug test bundle links
// oopsctl's module too, and the test libraries exist only as shared ones.
let staticSwiftRuntime: [LinkerSetting] = [
    .unsafeFlags(["-static-stdlib", "-Xlinker", "-z", "-Xlinker", "now"], .when(configuration: .release)),
    .linkedLibrary("_FoundationCollections", .when(configuration: .release)),
    .linkedLibrary("_FoundationCShims", .when(configuration: .release)),
]

// Every Swift module of Sources checks strict memory safety (SE-0458): each use of an unsafe construct is marked
// `unsafe` and says in a "Sound because" comment why it holds. Unmarked ones are build errors, so a new one cannot
// slip in unnoticed. The test targets are exempt: they exercise the modules, they do not hold raw memory of their own.
let strictMemorySafety: [SwiftSetting] = [
    .strictMemorySafety(),
    .treatWarning("StrictMemorySafety", as: .error),
]

// The capture binary links Debian 13's static libzstd, which scripts/install-deps unpacks here from the archive (not
// installed): zstd 1.5.7 compresses 4 KiB pages at level 1 faster than bookworm's 1.5.4 (README, "Which libzstd the
// capture links"). Everything else links the host's libzstd. Without the directory, the host's is linked, and
// scripts/check-capture-binary fails.
let captureLibzstd = Context.packageDirectory + "/.build-deps/libzstd/usr/lib/x86_64-linux-gnu"

let package = Package(
    name: "oopsd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "oopsd", targets: ["oopsd"]),
        .executable(name: "oopsctl", targets: ["oopsctl"]),
        .executable(name: "oopsd-capture", targets: ["oopsd-capture"]),
        .executable(name: "oopsd-capture-upload", targets: ["oopsd-capture-upload"]),
        // For the fuzz targets (Fuzz/Package.swift), which build these with -sanitize=fuzzer,address.
        .library(name: "OopsdFuzzable", targets: ["VMCore", "OopsConfig", "DumpFormat", "SystemCalls"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
    ],
    targets: [
        // MARK: C bindings
        .target(name: "CShim", path: "Sources/CShim"),
        .target(name: "CCaptureInit", path: "Sources/CCaptureInit"),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(name: "CElf", pkgConfig: "libelf", providers: [.apt(["libelf-dev"])]),
        .systemLibrary(name: "CKmod", pkgConfig: "libkmod", providers: [.apt(["libkmod-dev"])]),
        // No pkg-config for these two: their .pc files put -L/usr/lib/x86_64-linux-gnu ahead of every other
        // library directory, and oopsd-capture must find `captureLibzstd` first (their headers are in /usr/include).
        .systemLibrary(name: "CZstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

        // MARK: Foundation-free core (linked by oopsd-capture)
        .target(name: "SystemCalls", dependencies: ["CShim"], swiftSettings: strictMemorySafety),
        // The dump itself: directory layout, metadata.json, upload-state.json, capture plan, shared enums.
        .target(name: "DumpFormat", dependencies: ["SystemCalls"], swiftSettings: strictMemorySafety),
        .target(name: "OopsConfig", dependencies: ["DumpFormat", "SystemCalls"], swiftSettings: strictMemorySafety),
        .target(
            name: "KernelInterfaces", dependencies: ["DumpFormat", "SystemCalls", "CShim"],
            swiftSettings: strictMemorySafety),
        .target(
            name: "VMCore", dependencies: ["DumpFormat", "SystemCalls", "CZstd", "CZlib"],
            swiftSettings: strictMemorySafety),
        .target(
            name: "Capture",
            dependencies: ["DumpFormat", "VMCore", "KernelInterfaces", "SystemCalls", "CShim", "PortableDigest"],
            swiftSettings: strictMemorySafety),

        // MARK: SHA-256 (normal kernel only: OpenSSL's, for the initramfs cache, crash signatures and manifests)
        .target(name: "Digest", dependencies: ["CCrypto"], swiftSettings: strictMemorySafety),
        .target(name: "PortableDigest", swiftSettings: strictMemorySafety),

        // MARK: Arming (normal kernel only; may use Foundation-free code or not, never linked by capture)
        .target(
            name: "Initramfs",
            dependencies: [
                "DumpFormat", "SystemCalls", "KernelInterfaces", "Digest", "CElf", "CKmod", "CZstd", "CZlib",
            ],
            swiftSettings: strictMemorySafety),

        // MARK: Collection (normal kernel: reports, signatures, retention, export; may use Foundation).
        // Capture for its DumpSaver, which re-filters a saved vmcore on export.
        .target(
            name: "Collection",
            dependencies: ["Capture", "DumpFormat", "VMCore", "OopsConfig", "SystemCalls", "Digest"],
            swiftSettings: strictMemorySafety),

        // MARK: Remote storage (Foundation-free): S3 (SigV4 by libcurl, multipart) and SFTP requests, targets,
        // credentials, manifest.json. One implementation for the service's uploads and the capture kernel's.
        .target(
            name: "RemoteStorage", dependencies: ["DumpFormat", "OopsConfig", "SystemCalls", "Digest", "CCurl"],
            swiftSettings: strictMemorySafety),

        // MARK: Upload (normal kernel: ships saved dumps to S3-compatible storage and SFTP, resumably)
        .target(
            name: "Upload",
            dependencies: ["Collection", "DumpFormat", "OopsConfig", "RemoteStorage", "SystemCalls", "Digest"],
            swiftSettings: strictMemorySafety),

        // MARK: The service (normal kernel): arming, re-arming, collection, journal
        .target(
            name: "OopsService",
            dependencies: [
                "OopsConfig", "KernelInterfaces", "Initramfs", "Collection", "DumpFormat", "RemoteStorage", "Upload",
                "VMCore",
                "SystemCalls", "CSystemd",
            ],
            swiftSettings: strictMemorySafety),

        // MARK: Executables
        .executableTarget(
            name: "oopsd", dependencies: ["OopsService", "KernelInterfaces", "SystemCalls"],
            swiftSettings: strictMemorySafety, linkerSettings: staticSwiftRuntime),
        .executableTarget(
            name: "oopsctl",
            dependencies: [
                "OopsService", "OopsConfig", "KernelInterfaces", "Collection", "DumpFormat", "Upload", "VMCore",
                "SystemCalls",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictMemorySafety, linkerSettings: staticSwiftRuntime),
        // Statically linked (Swift runtime and C library included): the capture initramfs then holds
        // one file instead of the ~20 MB of shared Swift runtime libraries; stripped, as every byte of it
        // is unpacked into the crash reservation.
        .executableTarget(
            name: "oopsd-capture", dependencies: ["Capture", "DumpFormat", "VMCore", "CCaptureInit"],
            swiftSettings: strictMemorySafety,
            linkerSettings: [.unsafeFlags(["-static-executable", "-Xlinker", "--strip-all", "-L", captureLibzstd])]),

        // The capture kernel's way to S3 (`[Capture] Target=`): linked against Debian's libcurl, so a program of
        // its own, not part of the static oopsd-capture; Foundation-free, the Swift runtime linked in (release).
        .executableTarget(
            name: "oopsd-capture-upload", dependencies: ["DumpFormat", "RemoteStorage", "SystemCalls"],
            swiftSettings: strictMemorySafety,
            linkerSettings: [
                .unsafeFlags(["-static-stdlib", "-Xlinker", "--strip-all"], .when(configuration: .release))
            ]),

        // MARK: Tests
        // Each names every module its files import (scripts/check-dependencies); "oopsctl" is built for the tests.
        // TestSupport (Tests/TestSupport) holds what several test targets share: the temporary directory.
        .target(name: "TestSupport", dependencies: ["SystemCalls", "VMCore"], path: "Tests/TestSupport"),
        .testTarget(name: "SystemCallsTests", dependencies: ["SystemCalls", "TestSupport"]),
        .testTarget(name: "DumpFormatTests", dependencies: ["DumpFormat", "SystemCalls"]),
        .testTarget(name: "OopsConfigTests", dependencies: ["OopsConfig", "SystemCalls", "TestSupport"]),
        .testTarget(
            name: "OopsServiceTests",
            dependencies: [
                "OopsService", "OopsConfig", "KernelInterfaces", "SystemCalls", "TestSupport", "VMCore", "DumpFormat",
            ]),
        .testTarget(
            name: "VMCoreTests", dependencies: ["VMCore", "CZstd", "DumpFormat", "SystemCalls", "TestSupport"]),
        .testTarget(name: "KernelInterfacesTests", dependencies: ["KernelInterfaces", "SystemCalls", "TestSupport"]),
        .testTarget(name: "PortableDigestTests", dependencies: ["PortableDigest", "Digest"]),
        .testTarget(
            name: "InitramfsTests",
            dependencies: ["Initramfs", "Digest", "DumpFormat", "KernelInterfaces", "SystemCalls", "TestSupport"],
            exclude: ["prepare-module-tree.sh"]),  // run by ModuleTree.swift from the source tree
        .testTarget(
            name: "CaptureTests", dependencies: ["Capture", "DumpFormat", "VMCore", "SystemCalls", "TestSupport"]),
        .testTarget(
            name: "CollectionTests",
            dependencies: ["Collection", "DumpFormat", "VMCore", "OopsConfig", "SystemCalls", "TestSupport"]),
        .testTarget(name: "OopsctlTests", dependencies: ["oopsctl", "TestSupport"]),
        .testTarget(
            name: "UploadTests",
            dependencies: [
                "Upload", "Collection", "RemoteStorage", "DumpFormat", "OopsConfig", "SystemCalls", "TestSupport",
            ]),
        .testTarget(
            name: "RemoteStorageTests",
            dependencies: ["RemoteStorage", "OopsConfig", "SystemCalls", "Digest", "DumpFormat", "TestSupport"]),
    ]
)
