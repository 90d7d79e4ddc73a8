import KernelInterfaces
import OopsConfig
import SystemCalls
import TestSupport
import Testing

@testable import OopsService

/// Which kernel arming loads, in a --root tree laid out as Debian installs kernels.
@Suite struct KexecArmingTests {
    static let release = "7.3.4+deb13-amd64"

    func arming(_ root: String) -> KexecArming {
        KexecArming(
            root: HostRoot(root), captureBinary: "/usr/libexec/oopsd/oopsd-capture", runningRelease: Self.release)
    }

    func configuration(_ root: String) -> OopsConfiguration {
        OopsConfiguration(MergedConfiguration.load(root: HostRoot(root)))
    }

    @Test func aKernelInstalledOnlyUnderModulesIsArmed() throws {
        let directory = try TemporaryDirectory("arming")
        let root = directory.path
        try directory.write("/usr/lib/modules/\(Self.release)/vmlinuz", "bzImage")
        let kernel = arming(root).kernel(for: configuration(root))
        #expect(kernel.image == "/usr/lib/modules/\(Self.release)/vmlinuz")
        #expect(kernel.release == Self.release)
        let watched = arming(root).watchedPaths(configuration(root))
        #expect(
            watched == [
                "/boot", "/usr/lib/modules/\(Self.release)", "/lib/modules/\(Self.release)",
                "/usr/libexec/oopsd/oopsd-capture",
            ])
    }

    @Test func bootIsPreferredWhenBothHoldTheImage() throws {
        let directory = try TemporaryDirectory("arming")
        let root = directory.path
        try directory.write("/usr/lib/modules/\(Self.release)/vmlinuz", "bzImage")
        try directory.write("/boot/vmlinuz-\(Self.release)", "bzImage")
        #expect(arming(root).kernel(for: configuration(root)).image == "/boot/vmlinuz-\(Self.release)")
    }

    @Test func anExplicitImageNamesItsRelease() throws {
        let directory = try TemporaryDirectory("arming")
        let root = directory.path
        try directory.write("/etc/oopsd/oopsd.conf", "[Kernel]\nImage=/usr/lib/modules/7.2.13+deb14-amd64/vmlinuz\n")
        let kernel = arming(root).kernel(for: configuration(root))
        #expect(kernel.image == "/usr/lib/modules/7.2.13+deb14-amd64/vmlinuz")
        #expect(kernel.release == "7.2.13+deb14-amd64")
        #expect(arming(root).watchedPaths(configuration(root)).first == "/usr/lib/modules/7.2.13+deb14-amd64")
    }

    @Test func withNoImageArmingSaysWhereItLooked() throws {
        let directory = try TemporaryDirectory("arming")
        let root = directory.path
        let expected = KexecError.noImage(
            release: Self.release,
            looked: ["/boot/vmlinuz-\(Self.release)", "/usr/lib/modules/\(Self.release)/vmlinuz"])
        #expect(throws: expected) { try arming(root).arm(configuration(root)) }
        #expect(
            expected.description == "no kernel image of \(Self.release) in /boot/vmlinuz-\(Self.release) or "
                + "/usr/lib/modules/\(Self.release)/vmlinuz: install the kernel's image package, or name the image "
                + "with [Kernel] Image=")
    }
}
