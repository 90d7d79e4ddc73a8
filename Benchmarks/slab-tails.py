#!/usr/bin/env python3
"""What the frames oopsd keeps and makedumpfile leaves out hold: live slab objects, read with drgn.

slab-tails.py ORIGINAL OOPSD_KDUMP MDF_KDUMP VMLINUX

ORIGINAL is the unfiltered ELF vmcore, OOPSD_KDUMP and MDF_KDUMP the level-31 kdump files oopsd and makedumpfile
made of it, VMLINUX the kernel's debug image. For the frames only OOPSD_KDUMP holds, drgn on ORIGINAL (with
VMLINUX) says which slab cache each belongs to, and counts the allocated objects with bytes in them
(slab_cache_for_each_allocated_object); a frame of no slab (a large kmalloc folio) is counted as such.
Then every one of those frames is read from both kdump files (physical addresses, through drgn and libkdumpfile):
oopsd's must give ORIGINAL's bytes, makedumpfile's cannot give them. Written for makedumpfile 1.7.8 on 7.x
kernels, which leaves out tail pages of slab folios (issue 15). Run with the VM harness's drgn venv; exit status 1
when oopsd's dump does not give back every one of those frames as it was.
"""
import os
import sys
from collections import Counter

import drgn
from drgn.helpers.linux.mm import pfn_to_virt
from drgn.helpers.linux.slab import slab_cache_for_each_allocated_object, slab_object_info

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "VM", "tools"))
import kdump_compare  # noqa: E402

PAGE = 4096


def program(core, vmlinux=None):
    prog = drgn.Program()
    prog.set_core_dump(core)
    if vmlinux:
        prog.load_debug_info([vmlinux])
    return prog


def main(argv):
    if len(argv) != 5:
        sys.exit(__doc__)
    original, ours, theirs, vmlinux = argv[1:]
    more, fewer = kdump_compare.Kdump(ours), kdump_compare.Kdump(theirs)
    only = set(more.frames(more.second)) - set(fewer.frames(fewer.second))
    frames = sorted(only)
    prog = program(original, vmlinux)

    caches, frame_kinds = {}, Counter()
    for pfn in frames:
        try:
            info = slab_object_info(pfn_to_virt(prog, pfn))
        except drgn.FaultError:
            info = None
        if info is None:
            frame_kinds["no slab (large kmalloc or other)"] += 1
            continue
        name = info.slab_cache.name.string_().decode()
        frame_kinds[f"slab {name}"] += 1
        caches.setdefault(info.slab_cache.value_(), (info.slab_cache, set()))[1].add(pfn)

    objects = Counter()
    page_offset = pfn_to_virt(prog, 0).value_()
    for cache, pfns in caches.values():
        name, size = cache.name.string_().decode(), cache.object_size.value_()
        for pointer in slab_cache_for_each_allocated_object(cache, "char"):
            start = pointer.value_() - page_offset
            if any(pfn in pfns for pfn in range(start // PAGE, (start + size - 1) // PAGE + 1)):
                objects[name] += 1

    readable = {"oopsd": 0, "makedumpfile": 0}
    differing = 0
    for label, path in (("oopsd", ours), ("makedumpfile", theirs)):
        dump = program(path)
        for pfn in frames:
            try:
                data = dump.read(pfn * PAGE, PAGE, True)
            except drgn.FaultError:
                continue
            readable[label] += 1
            if label == "oopsd" and data != prog.read(pfn * PAGE, PAGE, True):
                differing += 1

    print(f"{len(frames)} frames only oopsd keeps; by what drgn says they are:")
    for what, count in frame_kinds.most_common(8):
        print(f"{count:8d}  {what}")
    if len(frame_kinds) > 8:
        print(f"{sum(c for _, c in frame_kinds.most_common()[8:]):8d}  in {len(frame_kinds) - 8} more kinds")
    print(f"{sum(objects.values())} allocated slab objects have bytes in them; by cache (most first):")
    for name, count in objects.most_common(8):
        print(f"{count:8d}  {name}")
    print(f"read back through drgn: oopsd's dump {readable['oopsd']} of {len(frames)} frames "
          f"({differing} differing from the original), makedumpfile's {readable['makedumpfile']}")
    return 1 if differing or readable["oopsd"] != len(frames) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
