#!/usr/bin/env bash
# Checks that every C++ file follows .clang-format (Debian 12's clang-format 14), or with --fix reformats them.
# Run by CTest as `format` (label lint), so `make test` and CI fail on a file that is not formatted.
set -euo pipefail
cd "$(dirname "$0")/.."
fix=0
[[ "${1:-}" == "--fix" ]] && fix=1

formatter=""
for candidate in clang-format-14 clang-format; do
  if command -v "$candidate" >/dev/null 2>&1; then formatter="$candidate"; break; fi
done
if [[ -z "$formatter" ]]; then
  echo "check-format: clang-format 14 is not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
if ! "$formatter" --version | grep -q "version 14\."; then
  echo "check-format: $formatter is not version 14 ($("$formatter" --version)); the style is pinned to 14" >&2
  exit 1
fi

dirs=(src sdk/cpp tests bench fuzz examples)
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -- "${dirs[@]}" | grep -E '\.(cc|h|cpp|hpp)$' | grep -v '/node_modules/')
else
  mapfile -t files < <(find "${dirs[@]}" -type f \( -name '*.cc' -o -name '*.h' -o -name '*.cpp' -o -name '*.hpp' \) \
                         -not -path '*/node_modules/*' | sort)
fi
if [[ ${#files[@]} -eq 0 ]]; then
  echo "check-format: no C++ files found" >&2
  exit 1
fi
if [[ $fix -eq 1 ]]; then
  "$formatter" -i "${files[@]}"
  echo "check-format: formatted ${#files[@]} files"
  exit 0
fi
if ! "$formatter" --dry-run -Werror "${files[@]}"; then
  echo "check-format: the files above differ from .clang-format; run scripts/check-format.sh --fix" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files follow .clang-format"
