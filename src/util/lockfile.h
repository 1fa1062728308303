/* Exclusive locks on files that say who holds them: flock(2) on PATH, with
 * "pid N (WHAT)" written into the file by whoever takes it, so a process
 * that finds it taken can name the holder. The lock lives as long as the fd. */
#pragma once

#include <stddef.h>

/* Takes the lock on path (created 0600), trying for up to wait_ms (0: once).
 * Returns the fd; -EWOULDBLOCK when another holds it, with its line (or
 * "another operation") in holder; -errno otherwise. what may be NULL. */
int hp_lockfile_take(const char *path, int wait_ms, const char *what, char *holder, size_t size);
