#!/usr/bin/python3
"""Prints the fingerprint of the one OpenPGP public key in an ASCII-armoured key file, without gpg.

The install checks a package repository's signing key against its published fingerprint before apt
trusts it (`signed-by=` takes the armoured file as it is), and Ubuntu's image need not have gpg. Exits
1, saying why, when the file is not one armoured public key: apt trusts every key in a `signed-by=` file,
so a second primary key next to the pinned one would be trusted too.

The fingerprint is RFC 4880's for a version 4 key (SHA-1 over 0x99, the key packet's two-byte length and
body) and RFC 9580's for version 6 (SHA-256 over 0x9B, a four-byte length and the body), in upper-case
hex without spaces.

Usage: openpgp-key-fingerprint.py KEY.asc
"""

import base64
import hashlib
import re
import sys

PUBLIC_KEY = 6
ARMOR = re.compile(
    r"-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n(?:[^\r\n]+: [^\r\n]*\r?\n)*\r?\n(?P<body>.*?)"
    r"-----END PGP PUBLIC KEY BLOCK-----",
    re.S,
)


class KeyProblem(Exception):
    pass


def dearmor(text):
    blocks = ARMOR.findall(text)
    if len(blocks) != 1:
        raise KeyProblem(f"expected one armoured public key block, found {len(blocks)}")
    lines = [line.strip() for line in blocks[0].splitlines() if line.strip()]
    # The last line may be the armour's CRC-24 ("=xxxx"), which carries nothing to check the key by.
    data = "".join(line for line in lines if not line.startswith("="))
    try:
        return base64.b64decode(data, validate=True)
    except ValueError as error:
        raise KeyProblem(f"the armoured block is not base64: {error}") from error


def packets(data):
    """Yields (tag, body) for each OpenPGP packet (old and new formats)."""
    pos = 0
    while pos < len(data):
        header = data[pos]
        if not header & 0x80:
            raise KeyProblem(f"byte {pos} is not a packet header")
        if header & 0x40:  # new format
            tag = header & 0x3F
            first = data[pos + 1]
            if first < 192:
                length, pos = first, pos + 2
            elif first < 224:
                length, pos = ((first - 192) << 8) + data[pos + 2] + 192, pos + 3
            elif first == 255:
                length, pos = int.from_bytes(data[pos + 2:pos + 6], "big"), pos + 6
            else:
                raise KeyProblem("partial body lengths are not allowed in a key")
        else:  # old format
            tag = (header >> 2) & 0x0F
            size = {0: 1, 1: 2, 2: 4}.get(header & 0x03)
            if size is None:
                raise KeyProblem("an old-format packet of indeterminate length")
            length, pos = int.from_bytes(data[pos + 1:pos + 1 + size], "big"), pos + 1 + size
        if pos + length > len(data):
            raise KeyProblem("a packet runs past the end of the key")
        yield tag, data[pos:pos + length]
        pos += length


def fingerprint(body):
    if body[:1] == b"\x04":
        return hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()
    if body[:1] == b"\x06":
        return hashlib.sha256(b"\x9b" + len(body).to_bytes(4, "big") + body).hexdigest().upper()
    raise KeyProblem(f"key packet version {body[:1].hex()} (only 4 and 6 are in use)")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    try:
        with open(sys.argv[1], encoding="ascii") as file:
            keys = [body for tag, body in packets(dearmor(file.read())) if tag == PUBLIC_KEY]
        if len(keys) != 1:
            raise KeyProblem(f"expected one primary public key, found {len(keys)}")
        print(fingerprint(keys[0]))
    except (OSError, UnicodeDecodeError, KeyProblem, IndexError) as problem:
        print(f"openpgp-key-fingerprint: {sys.argv[1]}: {problem}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
