import Initramfs
import KernelInterfaces
import SystemCalls

/// oopsd's kernel module (`Kernel/`): loads it when `[Kernel] OopsModule=yes`, and reads the
/// breadcrumb address the capture kernel needs.
public struct OopsModule {
    /// The module's name, as in `/sys/module/<name>`.
    public static let name = "oopsd"

    public var root: HostRoot
    public var release: String

    public init(root: HostRoot, release: String) {
        self.root = root
        self.release = release
    }

    /// Whether the module is loaded.
    public var isLoaded: Bool { FileSystem.exists(root.path("/sys/module/\(Self.name)/parameters")) }

    /// Loads the module from `/lib/modules/<release>` (as DKMS installs it) unless it is loaded.
    public func ensureLoaded() throws {
        if isLoaded { return }
        let index: KernelModuleIndex
        do { index = try KernelModuleIndex(root: root, release: release) } catch {
            throw OopsModuleError("cannot read the module index of \(release): \(error)")
        }
        let found = (try? index.lookup(Self.name)) ?? []
        guard let path = found.first?.path else {
            throw OopsModuleError(
                "[Kernel] OopsModule=yes, but no \(Self.name) module is installed for \(release): "
                    + "build it with 'dkms install' from Kernel/ (dkms.conf) or set OopsModule=no")
        }
        do {
            _ = try ModuleLoader.load(path: path)
        } catch {
            throw OopsModuleError("cannot load \(path): \(error)")
        }
    }

    /// The breadcrumb's physical address, from `/sys/module/oopsd/parameters/breadcrumb_phys`.
    public func breadcrumbAddress() -> UInt64? {
        guard let text = try? FileSystem.readText(root.path("/sys/module/\(Self.name)/parameters/breadcrumb_phys"))
        else { return nil }
        var digits = Substring(text.filter { !$0.isWhitespace })
        if digits.hasPrefix("0x") { digits = digits.dropFirst(2) }
        return UInt64(digits, radix: 16)
    }
}

/// Why the oops module could not be used; the sentence says what to do.
public struct OopsModuleError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
