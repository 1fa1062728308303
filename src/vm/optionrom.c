/* PCI option ROM parsing: a chain of images, each starting with 0x55 0xAA and
 * a pointer (at 0x18) to its PCI Data Structure, which gives the IDs, the
 * image length in 512-byte units, the code type and the last-image bit. */
#include "optionrom.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ROM_SIG_LO 0x55
#define ROM_SIG_HI 0xaa
#define ROM_PCIR_PTR 0x18
#define PCIR_LEN 0x18     /* the PCI Data Structure up to the indicator byte */
#define PCIR_VENDOR 0x04
#define PCIR_DEVICE 0x06
#define PCIR_IMAGE_LEN 0x10
#define PCIR_CODE_TYPE 0x14
#define PCIR_INDICATOR 0x15
#define PCIR_LAST_IMAGE 0x80
#define ROM_UNIT 512

static uint16_t rd16(const uint8_t *p)
{
        return (uint16_t)(p[0] | p[1] << 8);
}

const char *hp_rom_code_type_name(uint8_t code_type, char *buf, size_t size)
{
        switch (code_type) {
        case HP_ROM_CODE_BIOS:
                return "x86 BIOS";
        case 0x01:
                return "Open Firmware";
        case 0x02:
                return "HP PA-RISC";
        case HP_ROM_CODE_EFI:
                return "EFI";
        default:
                snprintf(buf, size, "code type 0x%02x", code_type);
                return buf;
        }
}

/* One image at off; its fields into *img. */
static int parse_image(const uint8_t *buf, size_t len, size_t off, size_t n, struct hp_rom_image *img,
                       char *err, size_t errsize)
{
        const uint8_t *p = buf + off;
        size_t pcir;
        char where[64];

        snprintf(where, sizeof(where), n == 0 ? "at offset 0" : "image %zu at offset 0x%zx", n + 1, off);
        if (len - off < ROM_PCIR_PTR + 2) {
                snprintf(err, errsize, "%s: only %zu bytes, too short for an option ROM header", where,
                         len - off);
                return -EINVAL;
        }
        if (p[0] != ROM_SIG_LO || p[1] != ROM_SIG_HI) {
                snprintf(err, errsize, "%s: no option ROM signature 55 AA (found %02X %02X)", where, p[0], p[1]);
                return -EINVAL;
        }
        pcir = rd16(p + ROM_PCIR_PTR);
        if (pcir + PCIR_LEN > len - off || memcmp(p + pcir, "PCIR", 4) != 0) {
                snprintf(err, errsize, "%s: no PCI Data Structure (\"PCIR\") at offset 0x%zx it points to",
                         where, off + pcir);
                return -EINVAL;
        }
        *img = (struct hp_rom_image){
                .offset = off,
                .length = (size_t)rd16(p + pcir + PCIR_IMAGE_LEN) * ROM_UNIT,
                .vendor_id = rd16(p + pcir + PCIR_VENDOR),
                .device_id = rd16(p + pcir + PCIR_DEVICE),
                .code_type = p[pcir + PCIR_CODE_TYPE],
                .last = p[pcir + PCIR_INDICATOR] & PCIR_LAST_IMAGE,
        };
        if (img->length == 0) {
                snprintf(err, errsize, "%s: its PCI Data Structure gives an image length of 0", where);
                return -EINVAL;
        }
        if (img->length > len - off) {
                snprintf(err, errsize, "%s: its image length (%zu bytes) runs past the end of the file (%zu bytes)",
                         where, img->length, len);
                return -EINVAL;
        }
        return 0;
}

int hp_rom_parse(const uint8_t *buf, size_t len, struct hp_rom_info *ret, char *err, size_t errsize)
{
        struct hp_rom_info info = { 0 };
        size_t off = 0;

        for (;;) {
                struct hp_rom_image *img;
                int r;

                if (info.n_images == HP_ROM_MAX_IMAGES) {
                        snprintf(err, errsize, "more than %d chained images without a last-image bit",
                                 HP_ROM_MAX_IMAGES);
                        return -EINVAL;
                }
                img = &info.images[info.n_images];
                r = parse_image(buf, len, off, info.n_images, img, err, errsize);
                if (r < 0)
                        return r;
                info.n_images++;
                info.has_bios |= img->code_type == HP_ROM_CODE_BIOS;
                info.has_efi |= img->code_type == HP_ROM_CODE_EFI;
                off += img->length;
                /* Padding after the last image is common in dumps. */
                if (img->last || off >= len)
                        break;
        }
        *ret = info;
        return 0;
}

const struct hp_rom_image *hp_rom_mismatch(const struct hp_rom_info *info, uint16_t vendor_id,
                                           uint16_t device_id)
{
        for (size_t i = 0; i < info->n_images; i++)
                if (info->images[i].vendor_id != vendor_id || info->images[i].device_id != device_id)
                        return &info->images[i];
        return NULL;
}
