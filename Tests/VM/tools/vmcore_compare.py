#!/usr/bin/env python3
"""vmcore_compare.py ORIGINAL COPY: check that COPY (an ELF core oopsd-capture wrote) holds the same memory as
ORIGINAL (a full /proc/vmcore copy): same notes; COPY's PT_LOAD segments tile each of ORIGINAL's exactly (same
virtual and physical addresses; oopsd may cut a segment into pieces whose zero pages are memory past the piece's
file data, p_memsz > p_filesz); every byte equal (file data byte for byte; memory past file data, and pages left out
as holes, must read back as zero and were zero).
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
    if e_phnum == 0xFFFF:  # PN_XNUM: the count is sh_info of section header 0
        e_shoff, = struct.unpack_from("<Q", m, 40)
        e_phnum, = struct.unpack_from("<I", m, e_shoff + 44)
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
    # Each original segment must be tiled by the copy's pieces with the same addresses, in order.
    pieces = sorted(b_loads)
    zero = bytes(PAGE)
    total = nonzero = 0
    import bisect
    starts = [p[0] for p in pieces]
    for index, (vaddr, paddr, filesz, memsz, a_off) in enumerate(a_loads):
        at = bisect.bisect_left(starts, vaddr)
        pos = 0
        while pos < memsz:
            if at >= len(pieces) or pieces[at][0] != vaddr + pos:
                sys.exit(f"segment {index} (paddr {paddr:#x}): no piece of the copy starts at vaddr {vaddr + pos:#x}")
            p_vaddr, p_paddr, p_filesz, p_memsz, b_off = pieces[at]
            if p_paddr != paddr + pos or p_memsz == 0 or pos + p_memsz > memsz or p_filesz > p_memsz:
                sys.exit(f"segment {index} (paddr {paddr:#x}): piece at vaddr {p_vaddr:#x} (paddr {p_paddr:#x}, "
                         f"filesz {p_filesz:#x}, memsz {p_memsz:#x}) does not fit it")
            # File data byte for byte; past it, the original must be zero.
            done = 0
            while done < p_memsz:
                n = min(CHUNK, p_memsz - done)
                chunk_a = a[a_off + pos + done:a_off + pos + done + n] if pos + done < filesz else b""
                if done < p_filesz:
                    n = min(n, p_filesz - done)
                    chunk_a = chunk_a[:n]
                    chunk_b = b[b_off + done:b_off + done + n]
                else:
                    chunk_b = bytes(len(chunk_a))
                if chunk_a != chunk_b:
                    for p in range(0, len(chunk_a), PAGE):
                        if chunk_a[p:p + PAGE] != chunk_b[p:p + PAGE]:
                            sys.exit(f"segment {index} (paddr {paddr:#x}): page at paddr {paddr + pos + done + p:#x} "
                                     f"differs (original offset {a_off + pos + done + p:#x})")
                for p in range(0, len(chunk_a), PAGE):
                    total += 1
                    if chunk_a[p:p + PAGE] != zero[:len(chunk_a[p:p + PAGE])]:
                        nonzero += 1
                done += n
            pos += p_memsz
            at += 1
    if len(pieces) < len(a_loads):
        sys.exit(f"the copy has {len(pieces)} PT_LOAD segments, the original {len(a_loads)}")
    print(f"equal: {len(a_notes)} notes, {len(a_loads)} PT_LOAD segments ({len(pieces)} in the copy), {total} pages "
          f"({nonzero} non-zero) byte for byte")


if __name__ == "__main__":
    main()
