#include "sched.h"

#include <errno.h>
#include <sys/resource.h>
#include <unistd.h>

int hp_thread_nice(int nice)
{
        /* PRIO_PROCESS with a thread's id names that thread alone. */
        return setpriority(PRIO_PROCESS, (id_t)gettid(), nice) < 0 ? -errno : 0;
}
