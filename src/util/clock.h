/* This process's monotonic clock: ages and deadlines that no change of the
 * wall clock moves. */
#pragma once

#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds. */
int64_t hp_mono_ms(void);
/* CLOCK_MONOTONIC's now plus ms, for pthread_cond_timedwait() on a
 * condition made with that clock (pthread_condattr_setclock). */
struct timespec hp_mono_after_ms(int64_t ms);
