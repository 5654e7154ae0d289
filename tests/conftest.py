import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))

SHARED_PENN = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "penn_action"


@pytest.fixture(scope="session")
def penn_root():
    """The real Penn Action data beside the checkout; skip when absent."""
    if not (SHARED_PENN / "labels").is_dir():
        pytest.skip(f"real Penn Action data not found at {SHARED_PENN}")
    return SHARED_PENN
