#!/usr/bin/env python3
"""Check a kdump-compressed dump (zlib, zstd or uncompressed pages) against the ELF vmcore it was made from.

kdump_compare.py ORIGINAL KDUMP [--elf FILTERED_ELF] [--makedumpfile MDF_KDUMP]

- every frame present in ORIGINAL's PT_LOADs is in KDUMP's first bitmap, and no other;
- every frame KDUMP holds (second bitmap) decompresses to the same 4096 bytes as in ORIGINAL;
- with --elf: every frame KDUMP holds has the same bytes in FILTERED_ELF (same selection, ELF output); a frame
  in memory past a segment's file data (p_memsz > p_filesz: oopsd's zero pages) must be zero in ORIGINAL;
- with --makedumpfile: compares the frames kept by makedumpfile (its second bitmap) with KDUMP's: they must be
  the same frames (oopsd judges the kernel image's frames as makedumpfile does: what x86 frees of it after boot,
  init memory and the text/rodata/data gaps, is free memory like any other).
Prints one summary line; exits 1 with the first difference.
"""
import ctypes
import ctypes.util
import struct
import sys
import zlib

PAGE = 4096
_zstd = None


def zstd_page(data):
    """One zstd-compressed page (kdump flag 0x20), through libzstd."""
    global _zstd
    if _zstd is None:
        _zstd = ctypes.CDLL(ctypes.util.find_library("zstd") or "libzstd.so.1")
        _zstd.ZSTD_decompress.restype = ctypes.c_size_t
        _zstd.ZSTD_decompress.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t]
        _zstd.ZSTD_isError.argtypes = [ctypes.c_size_t]
    out = ctypes.create_string_buffer(PAGE)
    size = _zstd.ZSTD_decompress(out, PAGE, data, len(data))
    if _zstd.ZSTD_isError(size) or size != PAGE:
        raise ValueError(f"zstd page decompressed to {size}")
    return out.raw


def loads(path):
    """(vaddr, paddr, offset, filesz, memsz) of every PT_LOAD; PN_XNUM counts come from section header 0."""
    with open(path, "rb") as f:
        head = f.read(64)
        phoff, shoff = struct.unpack_from("<QQ", head, 32)
        phnum, = struct.unpack_from("<H", head, 56)
        if phnum == 0xFFFF:
            f.seek(shoff)
            phnum, = struct.unpack_from("<I", f.read(64), 44)
        f.seek(phoff)
        table = f.read(56 * phnum)
    result = []
    for i in range(phnum):
        p_type, _, off, vaddr, paddr, filesz, memsz, _ = struct.unpack_from("<IIQQQQQQ", table, 56 * i)
        if p_type == 1:
            result.append((vaddr, paddr, off, filesz, memsz))
    return result


def frame_map(path):
    """pfn -> file offset, direct-map segments first (as the kernel text mapping repeats some frames); frames of
    memory past a segment's file data map to None (they read as zeros)."""
    text = 0xFFFFFFFF80000000
    frames = {}
    for vaddr, paddr, off, filesz, memsz in sorted(loads(path), key=lambda s: s[0] >= text):
        for i in range(filesz // PAGE):
            frames.setdefault((paddr // PAGE) + i, off + i * PAGE)
        for i in range(filesz // PAGE, memsz // PAGE):
            frames.setdefault((paddr // PAGE) + i, None)
    return frames


class Kdump:
    def __init__(self, path):
        self.f = open(path, "rb")
        head = self.f.read(464)
        if head[:8] != b"KDUMP   ":
            sys.exit(f"{path}: no KDUMP signature")
        self.status, block, sub_blocks, bitmap_blocks = struct.unpack_from("<IiiI", head, 424)
        self.f.seek(block)
        sub = self.f.read(104)
        self.max_mapnr, = struct.unpack_from("<Q", sub, 96)
        half = bitmap_blocks * block // 2
        self.f.seek((1 + sub_blocks) * block)
        self.first = self.f.read(half)
        self.second = self.f.read(half)
        self.desc = (1 + sub_blocks) * block + 2 * half
        self.path = path

    def frames(self, bitmap):
        for byte_index, byte in enumerate(bitmap):
            if byte:
                for bit in range(8):
                    if byte >> bit & 1:
                        yield byte_index * 8 + bit

    def descriptors(self):
        """(pfn, offset, size, flags) of every dumped frame, in order, from its page descriptor."""
        pfns = list(self.frames(self.second))
        self.f.seek(self.desc)
        table = self.f.read(24 * len(pfns))
        for index, pfn in enumerate(pfns):
            offset, size, flags, _ = struct.unpack_from("<QIIQ", table, 24 * index)
            yield pfn, offset, size, flags

    def pages(self):
        """(pfn, bytes) for every dumped frame, in order."""
        for index, pfn in enumerate(self.frames(self.second)):
            self.f.seek(self.desc + 24 * index)
            offset, size, flags, _ = struct.unpack("<QIIQ", self.f.read(24))
            self.f.seek(offset)
            data = self.f.read(size)
            if flags & 0x1:
                data = zlib.decompress(data)
            elif flags & 0x20:
                data = zstd_page(data)
            elif flags:
                sys.exit(f"{self.path}: pfn {pfn:#x} uses compression flags {flags:#x}; use zlib, zstd or none here")
            yield pfn, data


def main(argv):
    original, kdump_path = argv[1], argv[2]
    options = dict(zip(argv[3::2], argv[4::2]))
    frames = frame_map(original)
    kdump = Kdump(kdump_path)
    present = set(kdump.frames(kdump.first))
    if present != set(frames):
        sys.exit(f"first bitmap of {kdump_path} differs from the frames of {original}: "
                 f"{len(present - set(frames))} extra, {len(set(frames) - present)} missing")
    elf = options.get("--elf")
    elf_frames = frame_map(elf) if elf else None
    checked = 0
    with open(original, "rb") as src, (open(elf, "rb") if elf else open("/dev/null", "rb")) as out:
        for pfn, data in kdump.pages():
            src.seek(frames[pfn])
            expected = src.read(PAGE)
            if data != expected:
                sys.exit(f"pfn {pfn:#x}: {kdump_path} holds different bytes than {original}")
            if elf:
                if pfn not in elf_frames:
                    sys.exit(f"pfn {pfn:#x}: kept in {kdump_path} but in no PT_LOAD of {elf}")
                if elf_frames[pfn] is None:
                    stored = bytes(PAGE)  # memory past the segment's file data reads as zeros
                else:
                    out.seek(elf_frames[pfn])
                    stored = out.read(PAGE)
                if stored != expected:
                    sys.exit(f"pfn {pfn:#x}: {elf} holds different bytes than {original}")
            checked += 1
    line = f"{checked} kept pages equal the original"
    mdf_path = options.get("--makedumpfile")
    if mdf_path:
        mdf = Kdump(mdf_path)
        ours = set(kdump.frames(kdump.second))
        theirs = set(mdf.frames(mdf.second))
        only_theirs = theirs - ours
        only_ours = ours - theirs
        if only_theirs:
            sys.exit(f"{line}; {len(only_theirs)} frames kept by makedumpfile are left out by oopsd, first "
                     f"{sorted(only_theirs)[:8]}")
        if only_ours:
            sys.exit(f"{line}; {len(only_ours)} frames kept only by oopsd, first "
                     f"{[hex(p) for p in sorted(only_ours)[:8]]}")
        line += f"; makedumpfile and oopsd keep the same {len(ours)} frames"
    print(line)


if __name__ == "__main__":
    main(sys.argv)
