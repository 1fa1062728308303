/* A kernel watchdog device (/dev/watchdog: the hardware's, or softdog's
 * where there is none): opening it arms it, and the machine is reset unless
 * it is fed within its timeout. Closed with the magic character it is
 * disarmed; closed without (a crash, or on purpose) it stays armed, so a
 * process that does not come back in time gets the machine reset. */
#pragma once

#include <stdbool.h>

struct hp_watchdog;

/* Opens and arms path with timeout_s (the device rounds it to what it can
 * do). -errno: -ENOENT (no watchdog: load softdog), -EBUSY (another
 * process holds it). */
int hp_watchdog_open(const char *path, int timeout_s, struct hp_watchdog **ret);
/* A new timeout, when it differs from the last one set; it counts from now. */
int hp_watchdog_set_timeout(struct hp_watchdog *w, int timeout_s);
int hp_watchdog_timeout(const struct hp_watchdog *w);
int hp_watchdog_feed(struct hp_watchdog *w);
/* Closes w, disarmed or left armed. */
void hp_watchdog_close(struct hp_watchdog *w, bool disarm);
