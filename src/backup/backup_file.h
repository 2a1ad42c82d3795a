// The container of an `ironflow backup` file: JSON Lines, authenticated as a whole.
//
//   line 1      the header (format name and version, master key id, what is included)
//   lines 2..n  the body: section lines and message lines (backup.cc gives them meaning)
//   last line   the trailer {"lines":<body lines>,"mac":"<hex>"}: HMAC-SHA256 under the master key's backup MAC
//               key (MasterKey::backup_mac_key) over every byte before the trailer
//
// BackupWriter streams lines to a file and appends the trailer; BackupFile reads a whole file and hands out its
// lines only after Verify: a file that is truncated, reordered, edited or made under another key is refused
// before anything in it is used. Not thread-safe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "crypto/digest.h"

namespace ironflow::server {

class BackupWriter {
 public:
  // Writes to `out` (not owned; the caller closes it).
  BackupWriter(std::FILE* out, ByteView mac_key);
  // One line; `line` must not contain '\n'.
  Status Write(std::string_view line);
  // Appends the trailer and flushes. Nothing may be written after it.
  Status Finish();
  uint64_t lines() const { return lines_; }
  uint64_t bytes() const { return bytes_; }

 private:
  std::FILE* out_;
  HmacSha256Stream mac_;
  uint64_t lines_ = 0;
  uint64_t bytes_ = 0;
};

class BackupFile {
 public:
  // Reads the file and splits it into header, body and trailer. kInvalidArgument if it is not shaped like a
  // backup (no header, no trailer); the MAC is not checked yet.
  static Result<BackupFile> Load(const std::string& path);
  const std::string& header() const { return header_; }
  // OK when the trailer's MAC and line count match the content under `mac_key`; kPermissionDenied otherwise.
  Status Verify(ByteView mac_key) const;
  // The body lines (valid after a successful Verify; views into this object).
  const std::vector<std::string_view>& body() const { return body_; }
  uint64_t size() const { return content_->size(); }

 private:
  // On the heap so that moving a BackupFile never moves the bytes body_'s views point into.
  std::unique_ptr<std::string> content_ = std::make_unique<std::string>();
  std::string header_;
  std::vector<std::string_view> body_;
  size_t signed_bytes_ = 0;  // content_ up to the trailer line
  std::string trailer_;
};

}  // namespace ironflow::server
