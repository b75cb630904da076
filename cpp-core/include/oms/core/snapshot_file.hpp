// Crash-safe whole-file writes for the engine snapshot and the replay marker.
// Why: a kill -9 may land mid-write; readers must see either the old file or
// the new one, never a torn mix. Recipe: write <path>.tmp, fsync it, rename
// over <path> (atomic on POSIX), fsync the directory so the rename survives
// a power cut.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace oms::core {

// mkdir -p. False (with errno text in *err) on failure.
bool make_dirs(const std::string& dir, std::string* err = nullptr);

// Writes the concatenation of `parts` to `path` atomically (see above).
// `before_rename` runs after the data is durable in <path>.tmp and before the
// rename; returning false abandons the write (the old file stays).
bool write_file_atomic(const std::string& path, std::span<const std::span<const std::uint8_t>> parts,
                       std::string* err = nullptr, bool (*before_rename)(void*) = nullptr, void* ctx = nullptr);

// Whole file into `out`; false if missing/unreadable.
bool read_file(const std::string& path, std::vector<std::uint8_t>& out);

}  // namespace oms::core
