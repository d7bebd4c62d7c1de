#!/usr/bin/env python3
"""Asserts that a PNG screenshot is not blank: decodes it with zlib (8-bit RGB or RGBA,
non-interlaced, as Chromium writes them), then requires some share of non-white pixels,
a number of distinct colours, and optionally given colours covering some pixels (proof the
inline styles were applied).

Usage: png_check.py FILE [--color RRGGBB:MIN_PIXELS ...]
Prints what it measured; exits 1 when the image looks blank or a colour is missing."""
import struct, sys, zlib


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    pos, idat, hdr = 8, [], None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    w, h, depth, ctype, _, _, interlace = hdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        sys.exit(f"{path}: unsupported PNG (depth {depth}, colour type {ctype}, interlace {interlace})")
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 255
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        elif f != 0:
            sys.exit(f"{path}: bad filter {f} in row {y}")
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def main():
    path = sys.argv[1]
    wanted = []
    args = sys.argv[2:]
    while args:
        if args[0] == "--color":
            hexrgb, n = args[1].split(":")
            wanted.append((tuple(bytes.fromhex(hexrgb)), int(n)))
            args = args[2:]
        else:
            sys.exit(f"unknown argument {args[0]}")
    w, h, bpp, rows = decode(path)
    counts = {}
    for r in rows:
        for i in range(0, len(r), bpp):
            px = r[i:i + 3]
            counts[px] = counts.get(px, 0) + 1
    total = w * h
    white = counts.get(b"\xff\xff\xff", 0)
    nonwhite = 1 - white / total
    print(f"{path}: {w}x{h}, {len(counts)} distinct colours, {nonwhite:.1%} non-white")
    ok = nonwhite > 0.05 and len(counts) > 16
    if not ok:
        print("FAIL: the screenshot looks blank")
    for rgb, n in wanted:
        got = counts.get(bytes(rgb), 0)
        print(f"colour #{bytes(rgb).hex()}: {got} pixels (want >= {n})")
        if got < n:
            ok = False
            print(f"FAIL: colour #{bytes(rgb).hex()} missing")
    sys.exit(0 if ok else 1)


main()
