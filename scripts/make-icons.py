#!/usr/bin/env python3
"""Draws monzo-tray's icons as RGBA PNGs (no dependencies): a coral rounded square
with three white bars, one per balance, and packs them into the icon containers the
other platforms' bundles need: `icon.ico` (Windows: the executable's resource and
the installers) and `icon.icns` (the macOS app bundle). Re-run after changing the
design; the files are committed because Tauri's build needs them (RGBA) before
anything else."""
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


DRAWN = {}


def drawn(size):
    """The icon's pixels at `size`, one row of RGBA bytes per line, drawn once."""
    if size not in DRAWN:
        DRAWN[size] = [b"".join(bytes(pixel(x, y, size)) for x in range(size)) for y in range(size)]
    return DRAWN[size]


def png(size):
    rows = b"".join(b"\x00" + row for row in drawn(size))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def dib(size):
    """A 32-bit bitmap as an .ico holds it: a BITMAPINFOHEADER whose height counts the
    colour rows and the mask rows, the BGRA rows bottom-up, then the 1-bit AND mask
    (set where the pixel is fully transparent, for readers that ignore alpha)."""
    rows = drawn(size)
    header = struct.pack("<IiiHHIIiiII", 40, size, 2 * size, 1, 32, 0, 0, 0, 0, 0, 0)
    colour = b"".join(
        b"".join(bytes((row[i + 2], row[i + 1], row[i], row[i + 3])) for i in range(0, len(row), 4))
        for row in reversed(rows)
    )
    stride = (size + 31) // 32 * 4
    mask = b""
    for row in reversed(rows):
        bits = bytearray(stride)
        for x in range(size):
            if row[4 * x + 3] == 0:
                bits[x // 8] |= 0x80 >> (x % 8)
        mask += bytes(bits)
    return header + colour + mask


# Windows picks the layer nearest the size it draws (16 in a list, 32 on the desktop,
# 256 in large views). Bitmaps below 256, as every Windows reader takes them; a PNG
# at 256, as Windows Vista and later read it.
ICO_SIZES = [16, 24, 32, 48, 64, 256]


def ico():
    images = [png(size) if size >= 256 else dib(size) for size in ICO_SIZES]
    out = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    for size, image in zip(ICO_SIZES, images):
        side = size % 256  # 0 means 256
        out += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(image), offset)
        offset += len(image)
    return out + b"".join(images)


# The PNG-holding icon types of Apple's icns format (macOS 10.7 and later), each with
# its size in pixels: "ic11" is 16 points at 2x, and so on.
ICNS_TYPES = [
    (b"icp4", 16), (b"icp5", 32), (b"ic11", 32), (b"ic12", 64), (b"ic07", 128),
    (b"ic13", 256), (b"ic08", 256), (b"ic14", 512), (b"ic09", 512),
]


def icns():
    body = b"".join(kind + struct.pack(">I", 8 + len(data)) + data for kind, data in ((k, png(s)) for k, s in ICNS_TYPES))
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main():
    out = Path(__file__).resolve().parent.parent / "icons"
    out.mkdir(exist_ok=True)
    files = [("32x32.png", lambda: png(32)), ("128x128.png", lambda: png(128)), ("128x128@2x.png", lambda: png(256)),
             ("icon.png", lambda: png(512)), ("tray.png", lambda: png(64)), ("icon.ico", ico), ("icon.icns", icns)]
    for name, make in files:
        (out / name).write_bytes(make())
        print("wrote", out / name)


if __name__ == "__main__":
    main()
