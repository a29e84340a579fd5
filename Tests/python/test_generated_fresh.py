"""The committed generated code (protoc-c C and Swift wrappers) matches Protos/."""
import shutil
import subprocess

import pytest

from conftest import ROOT


@pytest.mark.skipif(shutil.which("protoc-c") is None, reason="protoc-c is not installed")
def test_generated_code_is_fresh():
    result = subprocess.run([str(ROOT / "Scripts" / "gen-protos"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
