#!/usr/bin/env bash
# Takes the README's pictures from the real app under Xvfb: the settings window in
# the light and the dark theme (GTK_THEME=Adwaita:dark, which WebKitGTK passes on as
# prefers-color-scheme), the open tray menu (Debian's trayer as the tray host; a
# click from xdotool opens the menu), and the window's History tab with its charts
# in both themes (`--demo --history` opens the window on it). Re-runnable: writes
# docs/settings-window.png, docs/settings-window-dark.png, docs/tray-menu.png,
# docs/history-view.png and docs/history-view-dark.png.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="$HOME/.cargo/bin:$PATH"
# The release build, as shipped (scripts/build-packages.sh makes it when missing).
bin="${MONZO_TRAY_BIN:-$PWD/target/release/monzo-tray}"
[ -x "$bin" ] || bash scripts/build-packages.sh >/dev/null
out="$PWD/docs"

if [ -z "${MONZO_TRAY_IN_SESSION:-}" ]; then
  exec env MONZO_TRAY_IN_SESSION=1 xvfb-run -a -s "-screen 0 1024x1000x24" dbus-run-session -- "$0" "$@"
fi

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
export XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config" XDG_CACHE_HOME="$work/cache" NO_AT_BRIDGE=1
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
eval "$(printf pw | gnome-keyring-daemon --components=secrets --daemonize --unlock)"

# The tray host first, at the top left, so the icon lands at a known place.
trayer --edge top --align left --widthtype pixel --width 120 --heighttype pixel --height 32 \
  --transparent false --tint 0xdddddd --SetDockType false &
sleep 1

# The dark theme first, in an app of its own (the theme is read at start).
GTK_THEME=Adwaita:dark "$bin" --demo --settings >"$work/app-dark.log" 2>&1 &
dark=$!
sleep 6
window=$(xdotool search --onlyvisible --name '^monzo-tray$' | head -1)
import -window "$window" "$out/settings-window-dark.png"
kill "$dark"; wait "$dark" 2>/dev/null || true
sleep 1

"$bin" --demo --settings >"$work/app.log" 2>&1 &
light=$!
sleep 6
window=$(xdotool search --onlyvisible --name '^monzo-tray$' | head -1)
import -window "$window" "$out/settings-window.png"

# Close the settings window via its own button area would need a WebDriver; hiding
# it is enough for the tray picture: unmap it.
xdotool windowunmap "$window"
sleep 1
# Click the tray icon (first icon in trayer) to open the menu.
xdotool mousemove 16 16 click 1
sleep 2
import -window root -crop 420x700+0+0 "$out/tray-menu.png"
# One instance at a time (a second start only hands its flags to the first): this
# app goes before the History pictures' own.
kill "$light"; wait "$light" 2>/dev/null || true
sleep 1

# The History tab, dark then light, each in an app of its own. Its charts are
# drawn after the window's first load and the history's, so longer than 6 s.
# history_shot PICTURE COMMAND...: COMMAND starts the app (env GTK_THEME=... for dark).
history_shot() {
  local picture=$1; shift
  "$@" --demo --history >"$work/$(basename "$picture" .png).log" 2>&1 &
  local app=$!
  sleep 8
  window=$(xdotool search --onlyvisible --name '^monzo-tray$' | head -1)
  import -window "$window" "$picture"
  kill "$app"; wait "$app" 2>/dev/null || true
  sleep 1
}
history_shot "$out/history-view-dark.png" env GTK_THEME=Adwaita:dark "$bin"
history_shot "$out/history-view.png" "$bin"
echo "wrote $out/settings-window.png, $out/settings-window-dark.png, $out/tray-menu.png, $out/history-view.png and $out/history-view-dark.png"
