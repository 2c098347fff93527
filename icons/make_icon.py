#!/usr/bin/env python3
"""Draw Ringside's icon (a white phone handset on a teal rounded square) as RGBA PNGs.

Python stdlib only; run `python3 icons/make_icon.py` to regenerate icon.png (256),
128x128.png and 32x32.png. Shapes are evaluated with 4x4 supersampling.
"""
import math
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def inside_rounded_square(x, y, s, r):
    # square [0, s] with corner radius r
    cx = min(max(x, r), s - r)
    cy = min(max(y, r), s - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def inside_handset(x, y):
    """Handset in a 256-unit space: a thick upper arc with a round cup at each end."""
    cx, cy = 128.0, 176.0
    dx, dy = x - cx, y - cy
    d = math.hypot(dx, dy)
    ang = math.degrees(math.atan2(-dy, dx))  # 0 = right, 90 = up
    if 62.0 <= d <= 92.0 and 28.0 <= ang <= 152.0:
        return True
    for a in (28.0, 152.0):
        # cups: rounded blobs hanging below the arc's ends
        ex = cx + 80.0 * math.cos(math.radians(a))
        ey = cy - 80.0 * math.sin(math.radians(a)) + 14.0
        if ((x - ex) / 30.0) ** 2 + ((y - ey) / 24.0) ** 2 <= 1.0:
            return True
    return False


def render(size):
    ss = 4
    top, bottom = (16, 150, 160), (10, 96, 128)  # teal gradient
    rows = []
    for py in range(size):
        row = bytearray()
        t = py / max(size - 1, 1)
        bg = tuple(round(top[i] + (bottom[i] - top[i]) * t) for i in range(3))
        for px in range(size):
            cover = white = 0
            for sy in range(ss):
                for sx in range(ss):
                    x = (px + (sx + 0.5) / ss) * 256.0 / size
                    y = (py + (sy + 0.5) / ss) * 256.0 / size
                    if inside_rounded_square(x, y, 256.0, 52.0):
                        cover += 1
                        if inside_handset(x, y):
                            white += 1
            n = ss * ss
            if cover == 0:
                row += bytes((0, 0, 0, 0))
                continue
            w = white / cover
            rgb = [round(bg[i] * (1 - w) + 255 * w) for i in range(3)]
            row += bytes((*rgb, round(255 * cover / n)))
        rows.append(bytes(row))
    return rows


def png(path, size):
    raw = b"".join(b"\x00" + r for r in render(size))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


if __name__ == "__main__":
    png(os.path.join(HERE, "icon.png"), 256)
    png(os.path.join(HERE, "128x128.png"), 128)
    png(os.path.join(HERE, "32x32.png"), 32)
