#include "backup/backup_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/hex.h"

namespace ironflow::server {
namespace {

Status WriteError() {
  return Status::Unavailable(std::string("cannot write the backup file: ") + std::strerror(errno));
}

}  // namespace

BackupWriter::BackupWriter(std::FILE* out, ByteView mac_key) : out_(out), mac_(mac_key) {}

Status BackupWriter::Write(std::string_view line) {
  if (line.find('\n') != std::string_view::npos) return Status::Internal("a backup line holds a newline");
  if (std::fwrite(line.data(), 1, line.size(), out_) != line.size() || std::fputc('\n', out_) == EOF) {
    return WriteError();
  }
  mac_.Update(AsBytes(line));
  mac_.Update(AsBytes(std::string_view("\n")));
  // The header is line 0; the trailer counts the lines after it.
  if (bytes_ > 0) ++lines_;
  bytes_ += line.size() + 1;
  return Status::Ok();
}

Status BackupWriter::Finish() {
  nlohmann::json trailer = {{"lines", lines_}, {"mac", HexEncode(mac_.Final())}};
  std::string text = trailer.dump() + "\n";
  if (std::fwrite(text.data(), 1, text.size(), out_) != text.size() || std::fflush(out_) != 0) return WriteError();
  bytes_ += text.size();
  return Status::Ok();
}

Result<BackupFile> BackupFile::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open backup file " + path + ": " + std::strerror(errno));
  BackupFile f;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::Unavailable("cannot read backup file " + path);
  *f.content_ = std::move(ss).str();
  const std::string_view all(*f.content_);
  if (all.empty() || all.back() != '\n') {
    return Status::InvalidArgument(path + " is not a complete Ironflow backup (it does not end with its trailer)");
  }
  const size_t first_end = all.find('\n');
  const size_t trailer_start = all.rfind('\n', all.size() - 2);
  if (trailer_start == std::string_view::npos || trailer_start < first_end) {
    return Status::InvalidArgument(path + " is not an Ironflow backup (no header and trailer)");
  }
  f.header_ = std::string(all.substr(0, first_end));
  f.signed_bytes_ = trailer_start + 1;
  f.trailer_ = std::string(all.substr(trailer_start + 1, all.size() - trailer_start - 2));
  for (size_t pos = first_end + 1; pos < f.signed_bytes_;) {
    const size_t end = all.find('\n', pos);
    f.body_.push_back(all.substr(pos, end - pos));
    pos = end + 1;
  }
  return f;
}

Status BackupFile::Verify(ByteView mac_key) const {
  auto trailer = nlohmann::json::parse(trailer_, nullptr, false);
  if (trailer.is_discarded() || !trailer.is_object() || !trailer.contains("mac") || !trailer["mac"].is_string() ||
      !trailer.contains("lines") || !trailer["lines"].is_number_unsigned()) {
    return Status::PermissionDenied("the backup's trailer is missing or damaged (a truncated or edited file)");
  }
  HmacSha256Stream mac(mac_key);
  mac.Update(AsBytes(std::string_view(*content_).substr(0, signed_bytes_)));
  const std::string expected = HexEncode(mac.Final());
  if (!ConstantTimeEquals(expected, trailer["mac"].get<std::string>()) ||
      trailer["lines"].get<uint64_t>() != body_.size()) {
    return Status::PermissionDenied(
        "the backup's MAC does not verify: the file was changed after it was written, or it was made under another "
        "master key");
  }
  return Status::Ok();
}

}  // namespace ironflow::server
