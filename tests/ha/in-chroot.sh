#!/usr/bin/env bash
# Runs a command in the Debian testing root made by install-newest.sh: in a mount
# namespace of its own (so nothing stays mounted when it ends, and removing the root
# can never reach the host's /tmp or /dev), with /proc, the host's /dev and the
# host's /tmp (the same paths inside and out: the tests' config folders live there).
# The command keeps this process's id, so a signal to it reaches the command.
# Usage: in-chroot.sh ROOT COMMAND [ARG...]
set -euo pipefail
root=$1
shift
exec unshare --mount --propagation private -- sh -c '
  root=$1; shift
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount --bind /tmp "$root/tmp"
  exec chroot "$root" "$@"' in-chroot "$root" "$@"
