#!/usr/bin/env python3
"""Extracts JA4 test vectors from FoxIO's own captures: for every TLS-over-TCP stream of the
pcap files of a FoxIO-LLC/ja4 checkout whose expected `ja4` its snapshot tests publish
(rust/ja4/src/snapshots/*.snap), the ClientHello's TLS record bytes (hex) with that JA4, one per distinct JA4 of a capture.

    tools/scripts/ja4_vectors.py <path to a FoxIO-LLC/ja4 checkout> > shared/data/ja4/foxio-vectors.json

Plain Python: pcap and pcapng, Ethernet / Linux SLL / raw IP, VLAN tags, IPv4 and IPv6, TCP
segments of one stream concatenated in capture order until the record is complete."""
import json, os, re, struct, sys


def packets(path):
    data = open(path, "rb").read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        link = struct.unpack(e + "I", data[20:24])[0]
        at = 24
        while at + 16 <= len(data):
            incl = struct.unpack(e + "I", data[at + 8:at + 12])[0]
            yield link, data[at + 16:at + 16 + incl]
            at += 16 + incl
    elif magic == b"\x0a\x0d\x0d\x0a":
        at, links, e = 0, [], "<"
        while at + 12 <= len(data):
            btype = struct.unpack(e + "I", data[at:at + 4])[0]
            if btype == 0x0A0D0D0A:
                e = "<" if data[at + 8:at + 12] == b"\x4d\x3c\x2b\x1a" else ">"
                links = []
            blen = struct.unpack(e + "I", data[at + 4:at + 8])[0]
            body = data[at + 8:at + blen - 4]
            if btype == 1:
                links.append(struct.unpack(e + "H", body[:2])[0])
            elif btype == 6:
                iface, _, _, caplen, _ = struct.unpack(e + "IIIII", body[:20])
                yield links[iface], body[20:20 + caplen]
            elif btype == 3:
                yield links[0], body[4:]
            if blen < 12:
                break
            at += blen


def ip_of(link, frame):
    if link == 1:  # Ethernet
        etype, at = struct.unpack(">H", frame[12:14])[0], 14
        while etype in (0x8100, 0x88A8):
            etype, at = struct.unpack(">H", frame[at + 2:at + 4])[0], at + 4
        return frame[at:] if etype in (0x0800, 0x86DD) else None
    if link == 113:  # Linux cooked
        return frame[16:]
    if link == 276:  # Linux cooked v2
        return frame[20:]
    if link in (101, 228, 229, 12, 14):  # raw IP
        return frame
    if link == 0:  # BSD loopback
        return frame[4:]
    return None


def tcp_of(ip):
    if not ip:
        return None
    v = ip[0] >> 4
    if v == 4:
        ihl = (ip[0] & 15) * 4
        if ip[9] != 6:
            return None
        src, dst, seg = ip[12:16], ip[16:20], ip[ihl:]
        fmt = lambda a: ".".join(map(str, a))
    elif v == 6:
        if ip[6] != 6:
            return None
        src, dst, seg = ip[8:24], ip[24:40], ip[40:]
        fmt = lambda a: ":".join("%x" % struct.unpack(">H", a[i:i + 2])[0] for i in range(0, 16, 2))
    else:
        return None
    sport, dport = struct.unpack(">HH", seg[:4])
    off = (seg[12] >> 4) * 4
    return (fmt(src), sport, fmt(dst), dport), seg[off:]


def hellos(path):
    streams, done = {}, {}
    for link, frame in packets(path):
        t = tcp_of(ip_of(link, frame))
        if not t or not t[1]:
            continue
        key, payload = t
        if key in done:
            continue
        buf = streams.get(key)
        if buf is None:
            if len(payload) < 6 or payload[0] != 0x16 or payload[1] != 3 or payload[5] != 1:
                continue
            buf = b""
        buf += payload
        streams[key] = buf
        need, at, msg = None, 0, b""
        while at + 5 <= len(buf):
            rlen = struct.unpack(">H", buf[at + 3:at + 5])[0]
            if at + 5 + rlen > len(buf):
                break
            msg += buf[at + 5:at + 5 + rlen]
            at += 5 + rlen
            if len(msg) >= 4:
                need = 4 + int.from_bytes(msg[1:4], "big")
                if len(msg) >= need:
                    done[key] = buf[:at]
                    break
    return done


def snapshot_ja4s(snap):
    out = []
    for block in re.split(r"\n- stream:", open(snap).read()):
        f = dict(re.findall(r"^\s+(src|dst|src_port|dst_port|ja4|transport): (.+)$", block, re.M))
        if f.get("transport") == "tcp" and "ja4" in f:
            out.append(((f["src"], int(f["src_port"]), f["dst"], int(f["dst_port"])), f["ja4"]))
    return out


def main(repo):
    vectors = []
    snaps = os.path.join(repo, "rust/ja4/src/snapshots")
    for name in sorted(os.listdir(snaps)):
        m = re.match(r"ja4__insta@(.+)\.snap$", name)
        pcap = m and os.path.join(repo, "pcap", m.group(1))
        if not pcap or not os.path.exists(pcap):
            continue
        found = hellos(pcap)
        seen = set()
        for key, ja4 in snapshot_ja4s(os.path.join(snaps, name)):
            if key in found and ja4 not in seen:
                seen.add(ja4)
                vectors.append({"capture": m.group(1), "stream": "%s:%d > %s:%d" % key, "ja4": ja4,
                                "client_hello_hex": found[key].hex()})
    json.dump({"source": "FoxIO-LLC/ja4 pcap/ and rust/ja4/src/snapshots/ (BSD-3-Clause)",
               "vectors": vectors}, sys.stdout, indent=1)
    print(file=sys.stdout)
    print(f"{len(vectors)} vectors", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
