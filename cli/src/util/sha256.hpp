// SHA-256 of files, for the environment record (plugin and experiment file hashes).
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace accelab {

/// Lowercase hex SHA-256 of `data` (FIPS 180-4).
std::string sha256_hex(std::span<const uint8_t> data);
/// Lowercase hex SHA-256 of a file's contents; throws FileError when unreadable.
std::string sha256_file(const std::string& path);

}  // namespace accelab
