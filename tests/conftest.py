"""Test-suite settings: the CLI's persistent compilation cache stays off (no writes under ~/.cache)
unless a test turns it on for a folder of its own."""

import os

os.environ["JAXGAN_COMPILATION_CACHE"] = ""
