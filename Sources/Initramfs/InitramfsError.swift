import DumpFormat
import SystemCalls

/// Why the capture initramfs could not be built: each case names the file or item and what was expected.
public enum InitramfsError: Error, Equatable, CustomStringConvertible, Sendable {
    /// An ELF file could not be read or is not what was expected.
    case elf(path: String, message: String)
    /// A shared library needed by `neededBy` was not found in any searched directory.
    case libraryNotFound(name: String, neededBy: String, searched: [String])
    /// A module or alias could not be resolved in the module tree.
    case module(name: String, message: String)
    /// The dump directory's mount or device could not be worked out.
    case target(path: String, message: String)
    /// A compression library failed.
    case compression(String)
    /// A file could not be read or written: what was being done, and the system call's error (call, path, errno).
    case file(doing: String, cause: SystemError)
    /// A file to copy into the initramfs is missing or not a regular file.
    case notRegularFile(path: String)
    /// Following symbolic links from `path` took more than `limit` hops.
    case symlinkLoop(path: String, limit: Int)
    /// The capture plan could not be written.
    case plan(CapturePlanError)
    /// The archive could not be assembled.
    case archive(CpioError)

    public var description: String {
        switch self {
        case .elf(let path, let message): "\(path): \(message)"
        case .libraryNotFound(let name, let neededBy, let searched):
            "\(name), needed by \(neededBy), is not in any of \(searched.joined(separator: ", "))"
        case .module(let name, let message): "kernel module \(name): \(message)"
        case .target(let path, let message): "dump target \(path): \(message)"
        case .compression(let message): "compressing the initramfs: \(message)"
        case .file(let doing, let cause): "\(doing): \(cause)"
        case .notRegularFile(let path): "\(path): expected a regular file for the capture initramfs"
        case .symlinkLoop(let path, let limit): "\(path): more than \(limit) symbolic links to follow"
        case .plan(let error): "\(error)"
        case .archive(let error): "\(error)"
        }
    }
}
