#include <systemd/sd-daemon.h>
#include>
#include <<systemd/sd-journal.h>
