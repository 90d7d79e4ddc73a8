#include <libelf.h>
#include>
#include <<gelf.h>
