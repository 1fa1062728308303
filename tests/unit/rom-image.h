/* Shared by the option ROM unit tests: a ROM image built in memory. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* One image of units * 512 bytes at buf + off. */
static inline void put_image(uint8_t *buf, size_t off, unsigned units, uint16_t vendor, uint16_t device, uint8_t code,
                              bool last)
{
        uint8_t *p = buf + off;

        memset(p, 0, units * 512u);
        p[0] = 0x55;
        p[1] = 0xaa;
        p[2] = (uint8_t)units;
        p[0x18] = 0x40;
        memcpy(p + 0x40, "PCIR", 4);
        p[0x44] = vendor & 0xff;
        p[0x45] = vendor >> 8;
        p[0x46] = device & 0xff;
        p[0x47] = device >> 8;
        p[0x4a] = 0x18;
        p[0x50] = units & 0xff;
        p[0x51] = (uint8_t)(units >> 8);
        p[0x54] = code;
        p[0x55] = last ? 0x80 : 0;
}
