import os
import tempfile

import pytest

# Keep compiled builds of the test run in one place (reused across tests, not the user cache).
os.environ.setdefault("BRIAN_SNN_BUILD_DIR", os.path.join(tempfile.gettempdir(), "brian_snn_test_builds"))


@pytest.fixture(autouse=True)
def _brian_runtime():
    """Every test starts on Brian's runtime device (a cpp test switches it for itself)."""
    import brian2
    yield
    brian2.set_device("runtime")
    brian2.device.reinit()
    brian2.device.activate()
