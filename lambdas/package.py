"""Package a Lambda into a deterministic zip and upload it under a content-addressed key.

    python lambdas/package.py build --name NAME --out DIR SOURCE...
    python lambdas/package.py upload --zip FILE --stack FOUNDATIONS_STACK [--region R]

`build` puts the sources flat at the zip's root, sorted, with fixed timestamps
and permissions, so the same sources give the same bytes. `upload` finds the app
bucket through the foundations stack's `<stack>-AppBucketName` export, uploads the
zip as `lambdas/<name>/<sha256>.zip` unless that key exists, and prints the key
(the value of the template's code-key parameter) alone on stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import zipfile
from pathlib import Path

EPOCH = (1980, 1, 1, 0, 0, 0)
EXIT_USAGE = 2


class PackageError(Exception):
    """A user-facing problem, reported as one line."""


def package_files(package: str) -> dict[str, Path]:
    """Archive name -> file for an installed pure-Python package: its modules, and
    the LICENSE/NOTICE of its distribution (kept beside the code it covers)."""
    import importlib.metadata
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise PackageError(f"package {package} is not installed in this virtualenv; run make venv.")
    root = Path(list(spec.submodule_search_locations)[0])
    files = {f"{package}/{path.relative_to(root).as_posix()}": path for path in sorted(root.rglob("*.py")) if "__pycache__" not in path.parts}
    distribution = importlib.metadata.distribution(package)
    for entry in distribution.files or []:
        if entry.name in ("LICENSE", "NOTICE") and ".dist-info" in str(entry):
            files[f"{package}/{entry.name}"] = Path(distribution.locate_file(entry))
    return files


def build_zip(name: str, sources: list[Path], out: Path, packages: tuple[str, ...] = ()) -> Path:
    archive_names: dict[str, Path] = {}
    for package in packages:
        archive_names.update(package_files(package))
    for source in sources:
        if not source.is_file():
            raise PackageError(f"source {source} does not exist.")
        if source.suffix != ".py":
            raise PackageError(f"source {source} is not a Python file; only sources go into a Lambda zip.")
        if source.name in archive_names:
            raise PackageError(f"two sources are named {source.name} ({archive_names[source.name]} and {source}).")
        archive_names[source.name] = source
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{name}.zip"
    handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".zip", dir=out)
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w") as archive:
            for archive_name in sorted(archive_names):
                info = zipfile.ZipInfo(archive_name, date_time=EPOCH)
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3
                archive.writestr(info, archive_names[archive_name].read_bytes(), compresslevel=9)
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return target


def content_key(zip_path: Path) -> str:
    name = zip_path.name.removesuffix(".zip")
    return f"lambdas/{name}/{hashlib.sha256(zip_path.read_bytes()).hexdigest()}.zip"


def export_value(cloudformation, export_name: str) -> str | None:
    for page in cloudformation.get_paginator("list_exports").paginate():
        for export in page.get("Exports", []):
            if export["Name"] == export_name:
                return export["Value"]
    return None


def upload(zip_path: Path, stack: str, region: str | None) -> tuple[str, bool]:
    """(key, uploaded?) after making sure the zip is in the app bucket."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    if not zip_path.is_file():
        raise PackageError(f"{zip_path} does not exist; run make first.")
    session = boto3.session.Session(region_name=region)
    try:
        bucket = export_value(session.client("cloudformation"), f"{stack}-AppBucketName")
        if bucket is None:
            raise PackageError(f"no export {stack}-AppBucketName: is {stack} the deployed foundations stack (and the region right)?")
        s3 = session.client("s3")
        key = content_key(zip_path)
        try:
            s3.head_object(Bucket=bucket, Key=key)
            return key, False
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
        s3.put_object(Bucket=bucket, Key=key, Body=zip_path.read_bytes(), ContentType="application/zip")
        return key, True
    except (BotoCoreError, ClientError) as error:
        raise PackageError(f"upload failed: {error}".splitlines()[0]) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="package.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build")
    build.add_argument("--name", required=True)
    build.add_argument("--out", type=Path, required=True)
    build.add_argument("--package", action="append", default=[], help="an installed package to vendor into the zip")
    build.add_argument("sources", nargs="+", type=Path)
    send = commands.add_parser("upload")
    send.add_argument("--zip", type=Path, required=True)
    send.add_argument("--stack", required=True)
    send.add_argument("--region")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            target = build_zip(args.name, args.sources, args.out, tuple(args.package))
            print(f"{target} {content_key(target)}", file=sys.stderr)
        else:
            key, uploaded = upload(args.zip, args.stack, args.region)
            print(f"{'uploaded' if uploaded else 'already there'}: s3 key {key}", file=sys.stderr)
            print(key)
    except PackageError as error:
        print(f"package.py: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return 0


if __name__ == "__main__":
    sys.exit(main())
