import Initramfs
import SystemCalls
import TestSupport
import Testing

@Suite struct LibraryClosureTests {
    /// `ldd` is the independent reference here only: the code itself never runs it.
    static func lddRealPaths(_ executable: String) -> Set<String> {
        let output = shell(
            "ldd \(executable) | grep -v vdso | sed -E 's/.*=> //; s/^[[:space:]]+//; s/ \\(0x.*//' "
                + "| xargs -n1 realpath"
        ).output
        return Set(output.split(separator: "\n").map(String.init))
    }

    @Test(arguments: ["/usr/bin/cpio", "/proc/self/exe"])
    func sameFilesAsLddOnRealBinaries(executable: String) throws {
        // Resolved here, not by a child process: /proc/self/exe is this test binary (Swift runtime via RUNPATH).
        let real = executable == "/proc/self/exe" ? try FileSystem.readLink(executable) : executable
        let closure = try LibraryClosure(executable: real, root: .system)
        let ours = Set(closure.items.map(\.resolution.realPath))
        #expect(!ours.isEmpty)
        #expect(ours == Self.lddRealPaths(real))
        if executable == "/proc/self/exe" { #expect(ours.contains { $0.hasSuffix("/libswiftCore.so") }) }
    }

    @Test func fixtureWithRunpathOriginSonameLinksAndMergedUsr() throws {
        let fixture = try TemporaryDirectory("initramfs")
        let build = try TemporaryDirectory("initramfs")
        let b = build.path
        let compile = shell(
            """
            cd \(b) && printf 'int inner(void){return 41;}\\n' > inner.c && \
            printf 'int inner(void); int outer(void){return inner()+1;}\\n' > outer.c && \
            printf 'int outer(void); int main(void){return outer();}\\n' > tool.c && \
            gcc -shared -fPIC -Wl,-soname,libinner.so.1 -o libinner.so.1.2.3 inner.c && \
            ln -s libinner.so.1.2.3 libinner.so.1 && \
            gcc -shared -fPIC -o libouter.so outer.c -L. -l:libinner.so.1 -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../private' && \
            gcc -o tool tool.c -L. -louter -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib' -Wl,-rpath-link,. 2>&1
            """)
        try #require(compile.status == 0, "\(compile.output)")
        try fixture.write("/opt/app/bin/tool", try FileSystem.readBytes(b + "/tool"), mode: 0o755)
        try fixture.write("/opt/app/lib/libouter.so", try FileSystem.readBytes(b + "/libouter.so"))
        try fixture.write("/opt/app/private/libinner.so.1.2.3", try FileSystem.readBytes(b + "/libinner.so.1.2.3"))
        try fixture.link("/opt/app/private/libinner.so.1", to: "libinner.so.1.2.3")
        let multiarch = "/usr/lib/x86_64-linux-gnu"
        try fixture.write(multiarch + "/libc.so.6", try FileSystem.readBytes(multiarch + "/libc.so.6"))
        try fixture.write(
            multiarch + "/ld-linux-x86-64.so.2", try FileSystem.readBytes(multiarch + "/ld-linux-x86-64.so.2"))
        try fixture.link("/lib", to: "usr/lib")
        try fixture.link("/lib64", to: "usr/lib64")
        try fixture.link("/usr/lib64/ld-linux-x86-64.so.2", to: "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")

        let info = try ElfDynamicInfo.read(path: fixture.root.path("/opt/app/bin/tool"))
        #expect(info.interpreter == "/lib64/ld-linux-x86-64.so.2")
        #expect(info.needed == ["libouter.so", "libc.so.6"])
        #expect(info.runPath == ["$ORIGIN/../lib"])
        #expect(info.machine == 62)

        let closure = try LibraryClosure(executable: "/opt/app/bin/tool", root: fixture.root)
        #expect(
            closure.items.map(\.name) == ["/lib64/ld-linux-x86-64.so.2", "libouter.so", "libc.so.6", "libinner.so.1"])
        #expect(
            closure.items.map(\.path) == [
                "/lib64/ld-linux-x86-64.so.2", "/opt/app/bin/../lib/libouter.so", "/lib/x86_64-linux-gnu/libc.so.6",
                "/opt/app/lib/../private/libinner.so.1",
            ])
        #expect(
            closure.items.map(\.resolution.realPath) == [
                multiarch + "/ld-linux-x86-64.so.2", "/opt/app/lib/libouter.so", multiarch + "/libc.so.6",
                "/opt/app/private/libinner.so.1.2.3",
            ])
        #expect(
            closure.items[0].resolution.links.map { "\($0.path) -> \($0.target)" } == [
                "/lib64 -> usr/lib64", "/usr/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                "/lib -> usr/lib",
            ])
        #expect(
            closure.items[3].resolution.links.map { "\($0.path) -> \($0.target)" } == [
                "/opt/app/private/libinner.so.1 -> libinner.so.1.2.3"
            ])
    }

    @Test func missingLibraryNamesWhoNeedsItAndWhereWeLooked() throws {
        let fixture = try TemporaryDirectory("initramfs")
        try fixture.write("/bin/cpio", try FileSystem.readBytes("/usr/bin/cpio"), mode: 0o755)
        let error = #expect(throws: InitramfsError.self) {
            try LibraryClosure(executable: "/bin/cpio", root: fixture.root, searchDirectories: ["/lib64"])
        }
        #expect(error?.description == "/lib64/ld-linux-x86-64.so.2, needed by /bin/cpio, is not in any of PT_INTERP")
    }

    @Test func notAnElfFileIsNamed() throws {
        let fixture = try TemporaryDirectory("initramfs")
        try fixture.write("/bin/script", "#!/bin/sh\n")
        #expect(throws: InitramfsError.elf(path: fixture.path + "/bin/script", message: "not an ELF file")) {
            try ElfDynamicInfo.read(path: fixture.path + "/bin/script")
        }
    }
}
