"""``python -m facecase_verify PACKAGE.zip [--fingerprint SHA256:...] [--no-replay]``; exit 0 only when all holds."""

from __future__ import annotations

import argparse
import sys

from facecase_verify.verify import verify_package


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m facecase_verify", description=__doc__)
    parser.add_argument("package", help="the evidence package (.zip)")
    parser.add_argument("--fingerprint", help="the signing key fingerprint you expect (from the FaceCase admin page); "
                                              "without it the key inside the package is only reported")
    parser.add_argument("--no-replay", action="store_true", help="skip replaying the enhancements")
    args = parser.parse_args(argv)
    result = verify_package(args.package, expect_fingerprint=args.fingerprint, replay=not args.no_replay,
                            out=sys.stdout)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
