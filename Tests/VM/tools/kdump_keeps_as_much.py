#!/usr/bin/env python3
"""kdump_keeps_as_much.py A B: the kdump file B keeps every frame the kdump file A keeps that is not all zero,
with the same bytes (A and B: makedumpfile's output from two inputs, e.g. the original vmcore and oopsd's ELF copy
of it, which leaves long zero runs out of its address space). Prints one summary line with the zero frames only A
lists and the frames only B keeps; exits 1 with the first non-zero frame B lacks or holds differently."""
import sys

from kdump_compare import Kdump

PAGE = 4096


def main(argv):
    if len(argv) != 3:
        sys.exit(__doc__)
    a, b = Kdump(argv[1]), Kdump(argv[2])
    kept_b = set(b.frames(b.second))
    pages_b = b.pages()
    zero_only_a = checked = 0
    current = next(pages_b, None)
    for pfn, data in a.pages():
        if pfn not in kept_b:
            if data.count(0) == len(data):
                zero_only_a += 1
                continue
            sys.exit(f"pfn {pfn:#x}: {argv[1]} keeps it (not zero), {argv[2]} does not")
        while current is not None and current[0] < pfn:
            current = next(pages_b, None)
        if current is None or current[0] != pfn or current[1] != data:
            sys.exit(f"pfn {pfn:#x}: different bytes in the two files")
        checked += 1
    print(f"{checked} kept frames the same, byte for byte; {zero_only_a} zero frames only in {argv[1]}, "
          f"{len(kept_b) - checked} frames only in {argv[2]}")


if __name__ == "__main__":
    main(sys.argv)
