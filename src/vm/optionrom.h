/* PCI option ROM images (PCI Firmware spec 3.x): what a --romfile holds, so a
 * wrong file is refused before a guest hangs at boot on it. Pure: works on
 * bytes in memory. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HP_ROM_MAX_IMAGES 16
#define HP_ROM_CODE_BIOS 0x00 /* x86 legacy BIOS */
#define HP_ROM_CODE_EFI 0x03

struct hp_rom_image {
        size_t offset, length; /* bytes */
        uint16_t vendor_id, device_id;
        uint8_t code_type;
        bool last;
};

struct hp_rom_info {
        struct hp_rom_image images[HP_ROM_MAX_IMAGES];
        size_t n_images;
        bool has_bios, has_efi;
};

/* Walks the chained images from offset 0: the 0xAA55 signature, the PCI Data
 * Structure ("PCIR") each points to, its image length and last-image bit.
 * -EINVAL with what is wrong in err ("image 2 at offset 0x10000: ...") when
 * the bytes are not an option ROM. */
int hp_rom_parse(const uint8_t *buf, size_t len, struct hp_rom_info *ret, char *err, size_t errsize);

/* The first image whose IDs are not vendor:device, or NULL. */
const struct hp_rom_image *hp_rom_mismatch(const struct hp_rom_info *info, uint16_t vendor_id,
                                           uint16_t device_id);

/* "x86 BIOS", "EFI", "Open Firmware", "HP PA-RISC", "type 0xNN" */
const char *hp_rom_code_type_name(uint8_t code_type, char *buf, size_t size);
