"""What each command-line input may be, checked by argparse before anything is
read from or sent to AWS: a bad value is one sentence naming the option and what
it allows, and exit code 2 (cli._Parser)."""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path
from urllib.parse import urlsplit

from templates_py import patterns

# <area>-<place>-<n>: us-east-1, eu-central-2, us-gov-west-1, cn-north-1, ap-southeast-4.
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
# Stack names are <prefix>-<profile> and <prefix>-foundations: the prefix leaves room for them.
PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,100}$")
STACK = re.compile(patterns.STACK_NAME)


def stack_name(text: str) -> str:
    if not STACK.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a stack name (a letter, then up to 127 letters, digits and hyphens)"
        )
    return text


def prefix(text: str) -> str:
    if not PREFIX.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a stack-name prefix (a letter, then up to 100 letters, digits and hyphens)"
        )
    return text


# S3 bucket naming rules: 3-63 lowercase letters, digits, dots and hyphens, a letter
# or digit at each end (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def bucket_name(text: str) -> str:
    if not BUCKET.fullmatch(text) or ".." in text:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an S3 bucket name (3-63 lowercase letters, digits, dots and hyphens)"
        )
    return text


def region(text: str) -> str:
    if not REGION.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an AWS region name such as us-east-1")
    return text


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        what = "a directory" if path.is_dir() else "not there"
        raise argparse.ArgumentTypeError(f"{text!r} is {what}; a file is needed")
    return path


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0 or value > 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from more than 0 to 3600")
    return value


def http_url(text: str) -> str:
    """An http(s) URL with a host (and a port in range, when given)."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not a URL ({error})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http:// or https:// URL with a host")
    if port == 0:
        raise argparse.ArgumentTypeError(f"{text!r} names port 0")
    return text
