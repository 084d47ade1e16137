// consensus/crc32c.h — CRC-32C (Castagnoli), the checksum of every on-disk
// record. Software table implementation: storage is fsync-bound, not CRC-bound.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pw::consensus {

/// Extends `crc` (0 to start) over `len` bytes at `data`.
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t len);
inline uint32_t crc32c(const void* data, size_t len) {
  return crc32c_extend(0, data, len);
}
inline uint32_t crc32c(std::string_view s) {
  return crc32c_extend(0, s.data(), s.size());
}

}  // namespace pw::consensus
