"""Uploaded tables and checkpoints pass through one size rule (nncore.limits.upload_bytes)."""

from __future__ import annotations

import pytest

from nncore.data.tabular import read_csv_table
from nncore.errors import ConfigError
from nncore.io.checkpoint import load_checkpoint
from nncore.limits import Limits

LIMITS = Limits(max_upload_mb=1 / 1024)  # 1,024 bytes
TABLE = b"a,b\n" + b"1,2\n" * 255        # 1,024 bytes of CSV: exactly at the limit


def _error(read, data) -> ConfigError:
    with pytest.raises(ConfigError) as e:
        read(data, LIMITS)
    return e.value


def test_one_byte_over_the_limit_is_refused_alike():
    assert len(TABLE) == LIMITS.max_upload_bytes
    assert len(read_csv_table(TABLE, LIMITS)) == 255  # at the limit: read
    for read, param in ((read_csv_table, "file"), (load_checkpoint, "checkpoint")):
        error = _error(read, TABLE + b"\n")
        assert str(error).startswith("the file is 0.0 MB; this server accepts up to 0.000976562 MB "
                                     "(NNPLAY_MAX_UPLOAD_MB)") and error.param == param
    assert "not a playground checkpoint" in str(_error(load_checkpoint, TABLE))  # at the limit: size passes


def test_anything_but_bytes_is_refused_alike():
    for read, begins in ((read_csv_table, "expected"), (load_checkpoint, "not a playground checkpoint: expected")):
        assert str(_error(read, "text")).startswith(f"{begins} the file's bytes, got str")
