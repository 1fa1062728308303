/* The calling thread's CPU priority. */
#pragma once

/* Sets the calling thread's nice value: Linux keeps one per thread, and a
 * thread it makes or a process it forks starts with it. Raising the
 * priority (a lower value) needs CAP_SYS_NICE. 0 or -errno. */
int hp_thread_nice(int nice);
