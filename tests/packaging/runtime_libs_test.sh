#!/usr/bin/env bash
# Fails when the runtime packages in the Dockerfile (ARG RUNTIME_LIBS) are not exactly the Debian
# packages that own the shared libraries `ldd BINARY` lists.
# Usage: runtime_libs_test.sh BINARY DOCKERFILE      exit 0 pass, 1 fail, 77 skip (no ldd/dpkg)
set -euo pipefail
if [[ $# -ne 2 ]]; then
  echo "usage: $0 BINARY DOCKERFILE" >&2
  exit 2
fi
binary=$1
dockerfile=$2
for tool in ldd dpkg; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not available" >&2; exit 77; }
done
[[ -x $binary ]] || { echo "FAIL: $binary is not an executable" >&2; exit 1; }
[[ -r $dockerfile ]] || { echo "FAIL: cannot read $dockerfile" >&2; exit 1; }

# The package owning FILE; on a merged-/usr system dpkg may know it under /usr or without it.
owner_of() {
  local file=$1 candidate out
  for candidate in "$file" "$(readlink -f "$file")" "/usr$file" "${file#/usr}"; do
    [[ -n $candidate ]] || continue
    if out=$(dpkg -S "$candidate" 2>/dev/null | grep -v '^diversion by'); then
      # "libssl3:amd64: /usr/lib/..." -> libssl3
      echo "${out%%: *}" | head -n1 | sed 's/:[a-z0-9_]*$//'
      return 0
    fi
  done
  return 1
}

from_ldd=()
while read -r lib path; do
  if [[ $path == "not found" ]]; then
    echo "FAIL: ldd cannot resolve $lib" >&2
    exit 1
  fi
  [[ -n $path ]] || continue
  if ! pkg=$(owner_of "$path"); then
    echo "FAIL: no Debian package owns $path ($lib)" >&2
    exit 1
  fi
  from_ldd+=("$pkg")
# "libfoo.so.1 => /lib/.../libfoo.so.1 (0x...)", "/lib64/ld-linux-x86-64.so.2 (0x...)", vdso has no path
done < <(ldd "$binary" | sed -nE 's/^[[:space:]]*([^[:space:]]+) => (not found|[^[:space:]]+).*/\1 \2/p;
                                  s/^[[:space:]]*(\/[^[:space:]]+) \(0x.*/\1 \1/p')
[[ ${#from_ldd[@]} -gt 0 ]] || { echo "FAIL: ldd listed no library for $binary" >&2; exit 1; }

# ARG RUNTIME_LIBS="a b c" (one line, or continued with backslashes).
declared=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$dockerfile" |
  sed -nE 's/^[[:space:]]*ARG[[:space:]]+RUNTIME_LIBS="([^"]*)".*/\1/p')
[[ -n $declared ]] || { echo "FAIL: no ARG RUNTIME_LIBS=\"...\" in $dockerfile" >&2; exit 1; }

want=$(printf '%s\n' "${from_ldd[@]}" | sort -u)
have=$(printf '%s\n' $declared | sort -u)
if [[ $want != "$have" ]]; then
  echo "FAIL: $dockerfile RUNTIME_LIBS disagrees with ldd $binary" >&2
  echo "  missing from the Dockerfile: $(comm -23 <(echo "$want") <(echo "$have") | tr '\n' ' ')" >&2
  echo "  listed but not linked:       $(comm -13 <(echo "$want") <(echo "$have") | tr '\n' ' ')" >&2
  echo "  the list should be: ARG RUNTIME_LIBS=\"$(echo "$want" | tr '\n' ' ' | sed 's/ $//')\"" >&2
  exit 1
fi
echo "PASS: RUNTIME_LIBS matches ldd: $(echo "$want" | tr '\n' ' ')"
