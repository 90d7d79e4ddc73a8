import KernelInterfaces
import SystemCalls
import TestSupport
import Testing

/// Where a release's kernel image and configuration are found, in trees laid out as Debian's packages lay them.
@Suite struct KernelReleaseTests {
    static let release = "7.3.4+deb13-amd64"

    @Test func theImageIsFoundInBootFirst() throws {
        let fixture = try TemporaryDirectory("kernel-release")
        try fixture.write("/boot/vmlinuz-\(Self.release)", "image in /boot")
        try fixture.write("/usr/lib/modules/\(Self.release)/vmlinuz", "image of linux-binary")
        let image = KernelRelease.installedImage(release: Self.release, root: fixture.root)
        #expect(image == "/boot/vmlinuz-\(Self.release)")
    }

    /// 7.x's split packages: linux-binary-<release> holds only /usr/lib/modules/<release>/vmlinuz, linux-base the
    /// config.
    @Test func theImageOfASplitPackageIsFoundUnderModules() throws {
        let fixture = try TemporaryDirectory("kernel-release")
        try fixture.write("/usr/lib/modules/\(Self.release)/vmlinuz", "image of linux-binary")
        try fixture.write("/usr/lib/modules/\(Self.release)/config", "CONFIG_RD_ZSTD=y\n")
        let image = "/usr/lib/modules/\(Self.release)/vmlinuz"
        #expect(KernelRelease.installedImage(release: Self.release, root: fixture.root) == image)
        #expect(KernelRelease.defaultImage(release: Self.release, root: fixture.root) == image)
        #expect(
            KernelRelease.configFile(release: Self.release, root: fixture.root)
                == "/usr/lib/modules/\(Self.release)/config")
    }

    @Test func withNoImageTheDefaultIsBootAndNothingIsInstalled() throws {
        let fixture = try TemporaryDirectory("kernel-release")
        try fixture.write("/usr/lib/modules/\(Self.release)/modules.dep", "")
        #expect(KernelRelease.installedImage(release: Self.release, root: fixture.root) == nil)
        let image = KernelRelease.defaultImage(release: Self.release, root: fixture.root)
        #expect(image == "/boot/vmlinuz-\(Self.release)")
        #expect(KernelRelease.configFile(release: Self.release, root: fixture.root) == "/boot/config-\(Self.release)")
    }

    @Test(arguments: [
        ("/boot/vmlinuz-6.1.0-57-amd64", "6.1.0-57-amd64"),
        ("/usr/lib/modules/7.3.4+deb13-amd64/vmlinuz", "7.3.4+deb13-amd64"),
        ("/lib/modules/7.2.13+deb14-amd64/vmlinuz", "7.2.13+deb14-amd64"),
        ("/srv/kernels/vmlinuz-custom", "custom"),
    ])
    func theReleaseIsReadFromTheImagePath(_ path: String, _ release: String) {
        #expect(KernelRelease.release(ofImage: path) == release)
    }

    @Test(arguments: ["/srv/kernels/bzImage", "/boot/vmlinuz", "/boot/vmlinuz-", "/srv/7.3/vmlinuz", "vmlinuz"])
    func aPathThatNamesNoReleaseGivesNone(_ path: String) {
        #expect(KernelRelease.release(ofImage: path) == nil)
    }
}
