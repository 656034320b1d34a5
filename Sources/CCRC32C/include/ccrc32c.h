#ifndef ESTUARY_CCRC32C_H
#define ESTUARY_CCRC32C_H

#include <stddef.h>
#include <stdint.h>

/// Nonzero when this CPU has a CRC-32C instruction that `estuary_crc32c_hardware` uses (SSE4.2 on x86-64).
/// Detected once; safe to call from any thread.
int estuary_crc32c_hardware_available(void);

/// Continues the CRC-32C (Castagnoli) register `crc` over `length` bytes at `data`. `crc` is the register
/// itself, not the finished checksum: callers pass `~seed` and invert the result, as the table code does.
/// Only call when `estuary_crc32c_hardware_available()` returned nonzero.
uint32_t estuary_crc32c_hardware(uint32_t crc, const void *data, size_t length);

#endif
