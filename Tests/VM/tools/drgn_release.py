#!/usr/bin/env python3
"""Print the kernel release stored in init_uts_ns of a dump, found through kallsyms from VMCOREINFO (no debuginfo)."""
import sys

import drgn
from drgn.helpers.linux.kallsyms import load_vmlinux_kallsyms

NEW_UTS_LEN = 65  # each field of struct new_utsname is char[__NEW_UTS_LEN + 1]


def main(path: str) -> int:
    prog = drgn.Program()
    prog.set_core_dump(path)
    prog.register_symbol_finder("vmlinux_kallsyms", load_vmlinux_kallsyms(prog), enable_index=0)
    address = prog.symbol("init_uts_ns").address
    # struct uts_namespace starts with struct new_utsname: sysname, nodename, release, ...
    raw = prog.read(address, 3 * NEW_UTS_LEN)
    fields = [raw[i * NEW_UTS_LEN:(i + 1) * NEW_UTS_LEN].split(b"\0", 1)[0].decode() for i in range(3)]
    if fields[0] != "Linux":
        print(f"init_uts_ns at {address:#x}: sysname is {fields[0]!r}, expected 'Linux'", file=sys.stderr)
        return 1
    print(fields[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
