#!/usr/bin/env python3
"""vmcore_compare.py ORIGINAL COPY: check that COPY (an ELF core oopsd-capture wrote) holds the same memory as
ORIGINAL (a full /proc/vmcore copy): same notes, the same PT_LOAD segments (p_vaddr, p_paddr, p_memsz, p_filesz),
and for every segment every byte equal (pages left out as holes must read back as zero, and were zero).
Prints one summary line; exit status 0 when equal, 1 with the first difference (segment, address, offsets)."""
import mmap
import struct
import sys

PAGE = 4096
CHUNK = 64 << 20


def parse(path):
    f = open(path, "rb")
    m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    if m[:4] != b"\x7fELF" or m[4] != 2 or m[5] != 1:
        sys.exit(f"{path}: not an ELF64 little-endian file")
    e_type, = struct.unpack_from("<H", m, 16)
    e_phoff, = struct.unpack_from("<Q", m, 32)
    e_flags, = struct.unpack_from("<I", m, 48)
    e_phnum, = struct.unpack_from("<H", m, 56)
    if e_type != 4:
        sys.exit(f"{path}: e_type {e_type}, expected 4 (ET_CORE)")
    loads, notes = [], []
    for i in range(e_phnum):
        p_type, _, off, vaddr, paddr, filesz, memsz, _ = struct.unpack_from("<IIQQQQQQ", m, e_phoff + 56 * i)
        if p_type == 1:
            loads.append((vaddr, paddr, filesz, memsz, off))
        elif p_type == 4:
            pos, end = off, off + filesz
            while pos + 12 <= end:
                namesz, descsz, ntype = struct.unpack_from("<III", m, pos)
                if namesz == 0 and descsz == 0 and ntype == 0:
                    break
                name_at = pos + 12
                desc_at = name_at + (namesz + 3) // 4 * 4
                notes.append((bytes(m[name_at:name_at + namesz]).rstrip(b"\0"), ntype, bytes(m[desc_at:desc_at + descsz])))
                pos = desc_at + (descsz + 3) // 4 * 4
    return m, e_flags, loads, notes


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, _, a_loads, a_notes = parse(sys.argv[1])
    b, b_flags, b_loads, b_notes = parse(sys.argv[2])
    if b_flags & 1:
        sys.exit(f"{sys.argv[2]}: e_flags has DUMP_ELF_INCOMPLETE set")
    if a_notes != b_notes:
        sys.exit(f"notes differ: {len(a_notes)} in the original, {len(b_notes)} in the copy")
    key = lambda seg: seg[:4]
    if [key(s) for s in a_loads] != [key(s) for s in b_loads]:
        sys.exit("PT_LOAD segments differ (vaddr, paddr, filesz, memsz):\n"
                 f"  original {[tuple(map(hex, key(s))) for s in a_loads]}\n  copy     {[tuple(map(hex, key(s))) for s in b_loads]}")
    zero = bytes(PAGE)
    total = nonzero = 0
    for index, (sa, sb) in enumerate(zip(a_loads, b_loads)):
        vaddr, paddr, filesz, _, a_off = sa
        b_off = sb[4]
        pos = 0
        while pos < filesz:
            n = min(CHUNK, filesz - pos)
            chunk_a = a[a_off + pos:a_off + pos + n]
            chunk_b = b[b_off + pos:b_off + pos + n]
            if chunk_a != chunk_b:
                for p in range(0, n, PAGE):
                    if chunk_a[p:p + PAGE] != chunk_b[p:p + PAGE]:
                        sys.exit(f"segment {index} (paddr {paddr:#x}): page at paddr {paddr + pos + p:#x} differs "
                                 f"(original offset {a_off + pos + p:#x}, copy offset {b_off + pos + p:#x})")
            for p in range(0, n, PAGE):
                total += 1
                if chunk_a[p:p + PAGE] != zero[:len(chunk_a[p:p + PAGE])]:
                    nonzero += 1
            pos += n
    print(f"equal: {len(a_notes)} notes, {len(a_loads)} PT_LOAD segments, {total} pages ({nonzero} non-zero) "
          f"byte for byte")


if __name__ == "__main__":
    main()
