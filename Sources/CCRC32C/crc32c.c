// CRC-32C with the CPU's own instruction. Swift cannot reach x86 intrinsics, so this small C file does; the
// portable table implementation stays in Swift (Wire/Compression/CRC32C.swift) and is the fallback.
#include "ccrc32c.h"

#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>

int estuary_crc32c_hardware_available(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    return (ecx & bit_SSE4_2) != 0;
}

// One 8-byte crc32 instruction per step: about 8 bytes per 3 cycles, four times the table code. The
// chunk formats checksum at most a few hundred bytes per log line, so a multi-lane version would not show.
__attribute__((target("sse4.2")))
static uint32_t crc_bytes(uint32_t crc, const unsigned char *p, size_t n) {
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        crc = (uint32_t)__builtin_ia32_crc32di(crc, word);
        p += 8;
        n -= 8;
    }
    while (n > 0) {
        crc = __builtin_ia32_crc32qi(crc, *p);
        p++;
        n--;
    }
    return crc;
}

__attribute__((target("sse4.2")))
uint32_t estuary_crc32c_hardware(uint32_t crc, const void *data, size_t length) {
    return crc_bytes(crc, (const unsigned char *)data, length);
}

#else

int estuary_crc32c_hardware_available(void) { return 0; }

uint32_t estuary_crc32c_hardware(uint32_t crc, const void *data, size_t length) {
    (void)data;
    (void)length;
    return crc;
}

#endif
