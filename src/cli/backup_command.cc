// `ironflow backup` and `ironflow restore`: the store's contents to one authenticated file and back, straight
// on NATS with the master key (src/backup/backup.h). This file parses flags, handles the file and prints.
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "backup/backup.h"
#include "cli/cli_support.h"
#include "cli/operator_options.h"

namespace ironflow::server::cli {
namespace {

void PrintProgress(const std::string& line) {
  fmt::print(stderr, "{}\n", line);
  std::fflush(stderr);
}

// A private file beside `path`, renamed over it once complete: a failed backup never leaves a partial file
// under the real name.
class PartialFile {
 public:
  explicit PartialFile(std::string path) : path_(std::move(path)), partial_(path_ + ".partial") {
    int fd = ::open(partial_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw CommandError{"cannot create " + partial_ + ": " + std::strerror(errno)};
    ::fchmod(fd, 0600);  // an existing .partial keeps its mode through O_CREAT
    file_ = ::fdopen(fd, "w");
    if (file_ == nullptr) {
      ::close(fd);
      throw CommandError{"cannot open " + partial_ + ": " + std::strerror(errno)};
    }
  }
  ~PartialFile() {
    if (file_ != nullptr) {
      std::fclose(file_);
      ::unlink(partial_.c_str());
    }
  }
  std::FILE* get() const { return file_; }
  void Commit() {
    const bool synced = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
    const bool closed = std::fclose(file_) == 0;
    file_ = nullptr;
    if (!synced || !closed || ::rename(partial_.c_str(), path_.c_str()) != 0) {
      const std::string why = std::strerror(errno);
      ::unlink(partial_.c_str());
      throw CommandError{"cannot write " + path_ + ": " + why};
    }
  }

 private:
  std::string path_, partial_;
  std::FILE* file_ = nullptr;
};

}  // namespace

void AddBackupCommands(CLI::App& app, GlobalOptions& g, int* exit_code) {
  struct BackupOpts {
    NatsConnection::Options nats;
    KeyFileOptions key_files;
    std::string out;
    BackupOptions backup;
  };
  auto b = std::make_shared<BackupOpts>();
  CLI::App* backup = app.add_subcommand(
      "backup", "Write the whole store (sealed secrets, keys, config, KV, functions) to one authenticated file");
  backup->add_option("-o,--out", b->out, "The backup file (written as FILE.partial, then renamed)")->required();
  backup->add_flag("--include-runs", b->backup.include_runs, "Also back up run records (history, unfinished runs)");
  backup->add_flag("--include-audit", b->backup.include_audit, "Also back up the audit trail (IRONFLOW_SYSTEM)");
  b->nats.name = "ironflow-backup";
  AddNatsFlags(backup, &b->nats);
  AddMasterKeyFlag(backup, &b->key_files);
  backup->callback(Guard(exit_code, [b, &g] {
    MasterKey key = RequireMasterKey(b->key_files, "a backup");
    auto nc = ConnectOrThrow(b->nats);
    PartialFile file(b->out);
    b->backup.progress = PrintProgress;
    auto summary = WriteBackup(*nc, key, b->backup, file.get());
    if (!summary.ok()) throw CommandError{summary.status().message()};
    file.Commit();
    if (g.json) {
      return PrintJson(json{{"file", b->out},
                            {"sections", summary->sections},
                            {"messages", summary->messages},
                            {"bytes", summary->bytes},
                            {"master_key_id", key.key_id()}});
    }
    fmt::print("backup written to {}: {} buckets/streams, {} messages, {} bytes (master key {})\n", b->out,
               summary->sections, summary->messages, summary->bytes, key.key_id());
  }));

  struct RestoreOpts {
    NatsConnection::Options nats;
    KeyFileOptions key_files;
    std::string file;
    RestoreOptions restore;
    bool yes = false;
  };
  auto r = std::make_shared<RestoreOpts>();
  CLI::App* restore = app.add_subcommand(
      "restore", "Restore a backup into an empty NATS (verified with the master key before anything is written)");
  restore->add_option("FILE", r->file, "The backup file")->required();
  restore->add_flag("--force", r->restore.force,
                    "Replace the buckets and streams the backup holds if they are not empty (stop every server first)");
  restore
      ->add_option("--kv-replicas", r->restore.replicas, "Replicas for every bucket and stream (default: as backed up)")
      ->check(CLI::Range(1, 5));
  restore->add_flag("-y,--yes", r->yes, "Do not ask for confirmation with --force");
  r->nats.name = "ironflow-restore";
  AddNatsFlags(restore, &r->nats);
  AddMasterKeyFlag(restore, &r->key_files);
  restore->callback(Guard(exit_code, [r, &g] {
    MasterKey key = RequireMasterKey(r->key_files, "a restore");
    if (r->restore.force && !r->yes && isatty(STDIN_FILENO) &&
        !Confirm("Replace what this NATS holds with the backup " + r->file + "?")) {
      throw CommandError{"aborted"};
    }
    auto nc = ConnectOrThrow(r->nats);
    r->restore.progress = PrintProgress;
    auto summary = RestoreBackup(*nc, key, r->file, r->restore);
    if (!summary.ok()) throw CommandError{summary.status().message()};
    if (g.json) {
      return PrintJson(json{{"file", r->file},
                            {"sections", summary->sections},
                            {"messages", summary->messages},
                            {"backup_created_at", summary->created_at},
                            {"revisions_renumbered", true}});
    }
    fmt::print("restored {} buckets/streams, {} messages from the backup of {}\n", summary->sections, summary->messages,
               summary->created_at);
    fmt::print(
        "revisions were renumbered by this store (each key's history keeps its order); start the servers "
        "with the same master key\n");
  }));
}

}  // namespace ironflow::server::cli
