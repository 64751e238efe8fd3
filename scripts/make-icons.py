#!/usr/bin/env python3
"""Draws monzo-tray's icons as RGBA PNGs (no dependencies): a coral rounded square
with three white bars, one per balance. Re-run after changing the design; the PNGs
are committed because Tauri's build needs them (RGBA) before anything else."""
import struct
import zlib
from pathlib import Path

CORAL = (255, 79, 64)
WHITE = (255, 255, 255)


def coverage(x, y, size, inside):
    """Fraction of a pixel inside a shape, by 4x4 supersampling (smooth edges)."""
    hits = 0
    for sy in range(4):
        for sx in range(4):
            if inside((x + (sx + 0.5) / 4) / size, (y + (sy + 0.5) / 4) / size):
                hits += 1
    return hits / 16


def rounded_square(u, v, margin=0.04, radius=0.22):
    lo, hi = margin, 1 - margin
    if not (lo <= u <= hi and lo <= v <= hi):
        return False
    cx = min(max(u, lo + radius), hi - radius)
    cy = min(max(v, lo + radius), hi - radius)
    return (u - cx) ** 2 + (v - cy) ** 2 <= radius ** 2


BARS = [(0.24, 0.60), (0.43, 0.40), (0.62, 0.24)]  # (left edge, top) of each bar


def bars(u, v, width=0.14, bottom=0.76):
    return any(left <= u <= left + width and top <= v <= bottom for left, top in BARS)


def pixel(x, y, size):
    back = coverage(x, y, size, rounded_square)
    if back == 0:
        return (0, 0, 0, 0)
    fore = coverage(x, y, size, bars)
    rgb = tuple(round(c * (1 - fore) + w * fore) for c, w in zip(CORAL, WHITE))
    return rgb + (round(255 * back),)


def png(size):
    rows = b"".join(
        b"\x00" + b"".join(bytes(pixel(x, y, size)) for x in range(size)) for y in range(size)
    )

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def main():
    out = Path(__file__).resolve().parent.parent / "icons"
    out.mkdir(exist_ok=True)
    for name, size in [("32x32.png", 32), ("128x128.png", 128), ("128x128@2x.png", 256), ("icon.png", 512), ("tray.png", 64)]:
        (out / name).write_bytes(png(size))
        print("wrote", out / name)


if __name__ == "__main__":
    main()
