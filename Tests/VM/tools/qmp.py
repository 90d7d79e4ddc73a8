#!/usr/bin/env python3
"""Drive a running QEMU through its QMP unix socket (vm_boot with VM_QMP).

qmp.py dump-memory SOCKET OUT
    stop the guest, write its whole RAM as an ELF core to OUT (dump-guest-memory, paging off: one PT_LOAD per RAM
    block, physical addresses), resume it; prints how long it took.
qmp.py balloon SOCKET BYTES LIMIT
    set the virtio balloon's target (the guest's memory less what the balloon holds) to BYTES in every QEMU that
    opens SOCKET, until LIMIT seconds have passed or this is killed; a boot made again gets a new QEMU.
"""
import json
import socket
import sys
import time


class Monitor:
    """One QMP connection, capabilities negotiated."""

    def __init__(self, sock):
        self.file = sock.makefile("rw")
        json.loads(self.file.readline())  # the greeting
        self.command("qmp_capabilities")

    def command(self, name, **arguments):
        """Runs NAME and returns its result; exits naming the command when QEMU answers with an error."""
        request = {"execute": name, "arguments": arguments} if arguments else {"execute": name}
        self.file.write(json.dumps(request) + "\n")
        self.file.flush()
        while True:
            reply = json.loads(self.file.readline())  # events come between, until the reply
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                sys.exit(f"QMP {name}: {reply['error']}")


def dump_memory(sock_path, out):
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(600)
    sock.connect(sock_path)
    monitor = Monitor(sock)
    t0 = time.monotonic()
    monitor.command("stop")
    monitor.command("dump-guest-memory", paging=False, protocol="file:" + out)
    monitor.command("cont")
    print(f"{time.monotonic() - t0:.1f}s")


def balloon(sock_path, target, limit):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        sock = socket.socket(socket.AF_UNIX)
        try:
            sock.connect(sock_path)
        except OSError:
            sock.close()
            time.sleep(0.1)
            continue
        monitor = Monitor(sock)
        monitor.command("balloon", value=target)
        while monitor.file.readline():  # events, until QEMU exits
            pass
        sock.close()


def main(argv):
    if len(argv) == 4 and argv[1] == "dump-memory":
        dump_memory(argv[2], argv[3])
    elif len(argv) == 5 and argv[1] == "balloon":
        balloon(argv[2], int(argv[3]), float(argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
