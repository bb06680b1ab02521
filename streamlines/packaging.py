"""Lambda packaging: a deterministic zip per function and an upload under a content-addressed key.

What goes into each zip is declared once, in `lambdas/functions.toml`.
`build_zip` puts the sources flat at the zip's root, sorted, with fixed
timestamps and permissions, so the same sources give the same bytes. `upload`
finds the app bucket through the foundations stack's `<stack>-AppBucketName`
export and uploads the zip as `lambdas/<name>/<sha256>.zip` unless that key
exists; the key is the value of the template's `<Name>CodeKey` parameter.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from templates_py import exports
from templates_py.model import manifest

EPOCH = (1980, 1, 1, 0, 0, 0)
DECLARATIONS = "functions.toml"


class PackageError(Exception):
    """A user-facing problem, reported as one line."""


@dataclass(frozen=True)
class LambdaSpec:
    """One function of lambdas/functions.toml: its folder name, sources and vendored packages."""

    name: str
    sources: tuple[Path, ...]
    packages: tuple[str, ...] = ()


def lambda_specs(lambdas: Path) -> dict[str, LambdaSpec]:
    """Every function declared in `lambdas`/functions.toml, by folder name."""
    path = lambdas / DECLARATIONS
    try:
        declared = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PackageError(f"cannot read {path}: {error.strerror}.") from None
    except tomllib.TOMLDecodeError as error:
        raise PackageError(f"{path} is not valid TOML: {error}.") from None
    specs = {}
    for name, entry in sorted(declared.items()):
        unknown = set(entry) - {"sources", "packages"}
        if unknown or not entry.get("sources"):
            raise PackageError(f"[{name}] in {path} needs a 'sources' list and takes only 'sources' and 'packages'.")
        sources = tuple((lambdas / name / source).resolve() for source in entry["sources"])
        specs[name] = LambdaSpec(name, sources, tuple(entry.get("packages", ())))
    return specs


def build_spec(spec: LambdaSpec, out: Path) -> Path:
    """The zip of one declared function, as `out`/<name>.zip."""
    return build_zip(spec.name, list(spec.sources), out, spec.packages)


def built_zip(root: Path, folder: str) -> Path:
    """Where `streamlines lambdas build` leaves a Lambda's zip."""
    return root / "lambdas" / folder / "dist" / f"{folder}.zip"


def code_key_parameters(profile: str) -> dict[str, str]:
    """<Name>CodeKey parameter -> Lambda folder, for every function of the profile's
    stack, as the platform model declares them (templates_py/model.py)."""
    return manifest(profile).code_keys


def package_files(package: str) -> dict[str, Path]:
    """Archive name -> file for an installed pure-Python package: its modules, and
    the LICENSE/NOTICE of its distribution (kept beside the code it covers)."""
    import importlib.metadata
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise PackageError(f"package {package} is not installed in this virtualenv; run make venv.")
    root = Path(list(spec.submodule_search_locations)[0])
    files = {
        f"{package}/{path.relative_to(root).as_posix()}": path
        for path in sorted(root.rglob("*.py"))
        if "__pycache__" not in path.parts
    }
    distribution = importlib.metadata.distribution(package)
    for entry in distribution.files or []:
        if entry.name in ("LICENSE", "NOTICE") and ".dist-info" in str(entry):
            files[f"{package}/{entry.name}"] = Path(distribution.locate_file(entry))
    return files


def members(sources: list[Path], packages: tuple[str, ...] = ()) -> dict[str, Path]:
    """Archive name -> file of one function: the vendored packages' files, then its
    sources flat at the root. What the zip holds and what `stage` copies for SAM."""
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
    return archive_names


def stage(lambdas: Path, folder: str, destination: Path) -> list[str]:
    """Copy what `folder`'s zip holds, as files, into `destination`: SAM's makefile
    build (`build-<Name>Function` in lambdas/Makefile) runs this, so `sam build`
    and `make lambdas` read the same declaration (lambdas/functions.toml)."""
    specs = lambda_specs(lambdas)
    if folder not in specs:
        raise PackageError(f"{folder} is not declared in {lambdas / DECLARATIONS}.")
    files = members(list(specs[folder].sources), specs[folder].packages)
    for name, source in sorted(files.items()):
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source.read_bytes())
    return sorted(files)


def build_zip(name: str, sources: list[Path], out: Path, packages: tuple[str, ...] = ()) -> Path:
    archive_names = members(sources, packages)
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


def upload(zip_path: Path, stack: str, region: str | None) -> tuple[str, bool]:
    """(key, uploaded?) after making sure the zip is in the app bucket."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    if not zip_path.is_file():
        raise PackageError(f"{zip_path} does not exist; run make lambdas first.")
    session = boto3.session.Session(region_name=region)
    try:
        from .aws import export_value

        bucket = export_value(session.client("cloudformation"), f"{stack}-{exports.APP_BUCKET_NAME}")
        if bucket is None:
            raise PackageError(
                f"no export {stack}-AppBucketName: is {stack} the deployed foundations stack (and the region right)?"
            )
        s3 = session.client("s3")
        key = content_key(zip_path)
        try:
            s3.head_object(Bucket=bucket, Key=key)
            return key, False
        except ClientError as error:
            if error.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
                raise
        s3.put_object(Bucket=bucket, Key=key, Body=zip_path.read_bytes(), ContentType="application/zip")
        return key, True
    except (BotoCoreError, ClientError) as error:
        raise PackageError(f"upload failed: {error}".splitlines()[0]) from None


def _stage_command(argv: list[str]) -> int:
    """`python -m streamlines.packaging stage LAMBDAS FOLDER DESTINATION` (lambdas/Makefile)."""
    import sys

    if len(argv) != 4 or argv[0] != "stage":
        print("usage: python -m streamlines.packaging stage LAMBDAS FOLDER DESTINATION", file=sys.stderr)
        return 2
    try:
        stage(Path(argv[1]), argv[2], Path(argv[3]))
    except PackageError as error:
        print(f"streamlines: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(_stage_command(sys.argv[1:]))
