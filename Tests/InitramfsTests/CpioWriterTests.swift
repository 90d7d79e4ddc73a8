import Digest
import Initramfs
import SystemCalls
import TestSupport
import Testing

@Suite struct CpioWriterTests {
    static func sample() throws -> CpioWriter {
        var writer = CpioWriter(mtime: 0)
        try writer.addSymlink("lib", target: "usr/lib")
        try writer.addFile("usr/lib/x86_64-linux-gnu/libc.so.6", contents: Array("libc!".utf8), permissions: 0o755)
        try writer.addSymlink("usr/lib/x86_64-linux-gnu/libc.so", target: "libc.so.6")
        try writer.addFile("init", contents: [0x7f, 0x45, 0x4c, 0x46, 1, 2, 3], permissions: 0o755)
        // Goes through the lib -> usr/lib link already in the archive.
        try writer.addFile("lib/modules/6.1/kernel/virtio.ko", contents: [UInt8](repeating: 0xaa, count: 4097))
        try writer.add(CpioEntry(path: "dev/console", kind: .characterDevice(major: 5, minor: 1), permissions: 0o600))
        try writer.addFile("etc/oopsd/capture-plan", contents: Array("version=1\n".utf8))
        return writer
    }

    @Test func exactBytesOfASmallArchive() throws {
        var writer = CpioWriter(mtime: 0x5f5e_1000)
        try writer.addFile("a", contents: Array("hi".utf8), permissions: 0o644)
        let expected =
            "070701" + "00000001" + "000081A4" + "00000000" + "00000000" + "00000001" + "5F5E1000" + "00000002"
            + "00000000" + "00000000" + "00000000" + "00000000" + "00000002" + "00000000" + "a\0" + "hi\0\0"
            + "070701" + "00000000" + "00000000" + "00000000" + "00000000" + "00000001" + "00000000" + "00000000"
            + "00000000" + "00000000" + "00000000" + "00000000" + "0000000B" + "00000000" + "TRAILER!!!\0" + "\0\0\0"
        #expect(writer.bytes() == Array(expected.utf8))
        #expect(writer.bytes().count % 4 == 0)
    }

    @Test func gnuCpioListsAndExtractsIt() throws {
        let scratch = try TemporaryDirectory("initramfs")
        let archive = scratch.path + "/image.cpio"
        try FileSystem.writeAtomically(archive, try Self.sample().bytes())
        let listing = shell("cpio -t --quiet < \(archive)")
        #expect(listing.status == 0)
        #expect(
            listing.output == """
                dev
                dev/console
                etc
                etc/oopsd
                etc/oopsd/capture-plan
                init
                lib
                usr
                usr/lib
                usr/lib/modules
                usr/lib/modules/6.1
                usr/lib/modules/6.1/kernel
                usr/lib/modules/6.1/kernel/virtio.ko
                usr/lib/x86_64-linux-gnu
                usr/lib/x86_64-linux-gnu/libc.so
                usr/lib/x86_64-linux-gnu/libc.so.6

                """)
        let verbose = shell("cpio -tv --quiet < \(archive) | awk '{print $1, $2, $5}'")
        #expect(verbose.output.split(separator: "\n").contains("crw------- 1 5,"))
        #expect(verbose.output.split(separator: "\n").contains("lrwxrwxrwx 1 7"))
        let out = scratch.path + "/out"
        try FileSystem.makeDirectory(out)
        // cpio cannot make the device node without privileges on every system; skip it on extraction.
        let extract = shell("cd \(out) && cpio -i --quiet --no-absolute-filenames -f 'dev/console' < \(archive)")
        #expect(extract.status == 0)
        #expect(
            try FileSystem.readBytes(out + "/lib/modules/6.1/kernel/virtio.ko") == [UInt8](repeating: 0xaa, count: 4097)
        )
        #expect(try FileSystem.readLink(out + "/lib") == "usr/lib")
        #expect(try FileSystem.readLink(out + "/usr/lib/x86_64-linux-gnu/libc.so") == "libc.so.6")
        #expect(try FileSystem.status(out + "/init")?.permissions == 0o755)
        #expect(try FileSystem.readText(out + "/usr/lib/x86_64-linux-gnu/libc.so") == "libc!")
    }

    @Test func sameInputsSameBytesWhateverTheOrder() throws {
        var reversed = CpioWriter(mtime: 0)
        try reversed.addFile("etc/oopsd/capture-plan", contents: Array("version=1\n".utf8))
        try reversed.add(CpioEntry(path: "dev/console", kind: .characterDevice(major: 5, minor: 1), permissions: 0o600))
        try reversed.addSymlink("lib", target: "usr/lib")
        try reversed.addFile("usr/lib/modules/6.1/kernel/virtio.ko", contents: [UInt8](repeating: 0xaa, count: 4097))
        try reversed.addFile("init", contents: [0x7f, 0x45, 0x4c, 0x46, 1, 2, 3], permissions: 0o755)
        try reversed.addSymlink("usr/lib/x86_64-linux-gnu/libc.so", target: "libc.so.6")
        try reversed.addFile("usr/lib/x86_64-linux-gnu/libc.so.6", contents: Array("libc!".utf8), permissions: 0o755)
        let first = try Self.sample().bytes()
        #expect(first == reversed.bytes())
        #expect(SHA256.hex(first) == SHA256.hex(try Self.sample().bytes()))
    }

    @Test func fileAsParentIsAnError() throws {
        var writer = CpioWriter()
        try writer.addFile("init", contents: [1])
        #expect(throws: CpioError(path: "init/x", message: "parent init is not a directory")) {
            try writer.addFile("init/x", contents: [2])
        }
    }

    @Test func unpackedSizeCountsContentsAndLinks() throws {
        #expect(try Self.sample().unpackedSize == 5 + 9 + 7 + 4097 + 10 + 7)
    }
}
