import Digest
import SystemCalls

/// What goes into the capture initramfs, in order, before any file is read: each member says where it goes
/// and where its bytes come from. The one list serves twice: its fingerprint (file metadata and inline bytes,
/// no file contents) finds a cached image, and only when there is none are the files read into an archive. A
/// member added here is therefore always part of both, and the two cannot disagree.
struct CaptureImageContents {
    /// Where a member's bytes come from.
    enum Source {
        /// A directory, symlink, device node or file whose bytes are already in memory (the plan).
        case inline(CpioEntry.Kind, permissions: UInt32)
        /// A file of the host (a path already under the root); `permissions` nil keeps the file's own.
        case hostFile(String, permissions: UInt32?)
    }

    /// One member: its path inside the archive and its source.
    struct Member {
        var path: String
        var source: Source
    }

    private(set) var members: [Member] = []

    mutating func addDirectory(_ path: String) {
        members.append(Member(path: path, source: .inline(.directory, permissions: 0o755)))
    }

    mutating func addSymlink(_ path: String, target: String) {
        members.append(Member(path: path, source: .inline(.symlink(target: target), permissions: 0o777)))
    }

    mutating func add(_ entry: CpioEntry) {
        members.append(Member(path: entry.path, source: .inline(entry.kind, permissions: entry.permissions)))
    }

    mutating func addFile(_ path: String, contents: [UInt8], permissions: UInt32 = 0o644) {
        members.append(Member(path: path, source: .inline(.file(contents), permissions: permissions)))
    }

    /// A host file copied in; `permissions` nil keeps the file's own mode bits.
    mutating func addHostFile(_ path: String, from hostPath: String, permissions: UInt32? = 0o644) {
        members.append(Member(path: path, source: .hostFile(hostPath, permissions: permissions)))
    }

    /// SHA-256 (hex) of `header` and every member's path and source: inline bytes in full, host files by
    /// device, inode, size, modification and change time, and mode. A package upgrade writes a new inode, an
    /// edit in place moves the change time (which user space cannot set back), so any change to an input
    /// changes the fingerprint; reading no file contents keeps a warm arm from re-reading megabytes.
    func fingerprint(header: String) throws(InitramfsError) -> String {
        var hash = SHA256()
        hash.update(header)
        for member in members {
            // Lengths before strings: no two different member lists give the same text.
            hash.update("\(member.path.utf8.count):\(member.path)")
            switch member.source {
            case .inline(let kind, let permissions):
                switch kind {
                case .directory: hash.update(" dir \(permissions)\n")
                case .file(let bytes):
                    hash.update(" bytes \(permissions) \(bytes.count)\n")
                    hash.update(bytes)
                case .symlink(let target): hash.update(" link \(target.utf8.count):\(target)\n")
                case .characterDevice(let major, let minor): hash.update(" chr \(permissions) \(major):\(minor)\n")
                case .blockDevice(let major, let minor): hash.update(" blk \(permissions) \(major):\(minor)\n")
                }
            case .hostFile(let hostPath, let permissions):
                let status = try Self.regularFile(hostPath)
                hash.update(
                    " host \(hostPath.utf8.count):\(hostPath) mode \(permissions ?? status.permissions)"
                        + " dev \(status.device) ino \(status.inode) size \(status.size)"
                        + " mtime \(status.modificationSeconds).\(status.modificationNanoseconds)"
                        + " ctime \(status.changeSeconds).\(status.changeNanoseconds)\n")
            }
        }
        return hash.hexDigest()
    }

    /// Reads every host file and writes the archive.
    func archive() throws(InitramfsError) -> CpioWriter {
        var writer = CpioWriter(mtime: 0)
        for member in members {
            let entry: CpioEntry
            switch member.source {
            case .inline(let kind, let permissions):
                entry = CpioEntry(path: member.path, kind: kind, permissions: permissions)
            case .hostFile(let hostPath, let permissions):
                let bytes: [UInt8]
                do { bytes = try FileSystem.readBytes(hostPath) } catch {
                    throw .file(doing: "copying into the capture initramfs", cause: SystemError(caught: error))
                }
                var mode = permissions ?? 0
                if permissions == nil { mode = try Self.regularFile(hostPath).permissions }
                entry = CpioEntry(path: member.path, kind: .file(bytes), permissions: mode)
            }
            do { try writer.add(entry) } catch { throw .archive(error) }
        }
        return writer
    }

    private static func regularFile(_ hostPath: String) throws(InitramfsError) -> FileStatus {
        let status: FileStatus?
        do { status = try FileSystem.status(hostPath) } catch {
            throw .file(doing: "copying into the capture initramfs", cause: SystemError(caught: error))
        }
        guard let status, status.kind == .regular else {
            throw .notRegularFile(path: hostPath)
        }
        return status
    }
}
