"""Error classes: one base per package."""

def test_every_deliberate_error_has_its_package_base():
    """One base per package: a caller catches BrianSnnError / HwmodelError for any of them."""
    from brian_snn import BrianSnnError
    from brian_snn.backend import BackendError
    from brian_snn.cuda import CudaError
    from brian_snn.data import DataError
    from brian_snn.files import LockedError
    from brian_snn.solsa.errors import SolsaError
    from brian_snn.store import StoreError
    import hwmodel
    from hwmodel.calibrate import CalibrationError
    for cls in (BackendError, CudaError, DataError, LockedError, SolsaError, StoreError):
        assert issubclass(cls, BrianSnnError), cls
    for cls in (hwmodel.CountsError, hwmodel.TargetError, hwmodel.EstimateError, CalibrationError):
        assert issubclass(cls, hwmodel.HwmodelError), cls


def test_every_results_reader_refuses_missing_truncated_and_foreign_files(tmp_path):
    """train, continual and SOLSA results are opened by one function: the same one-line errors."""
    import h5py
    import pytest
    from brian_snn.experiments.continual import read_continual
    from brian_snn.solsa.store import read_summary
    from brian_snn.store import StoreError, read_results
    (tmp_path / "cut.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 20)         # a truncated HDF5 file
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.attrs["schema"] = "someone-else/1"
    for read, what in ((read_results, "a brian-snn results file"), (read_continual, "a continual-learning results file"),
                       (read_summary, "a SOLSA results file")):
        with pytest.raises(StoreError, match="file not found"):
            read(tmp_path / "none.h5")
        with pytest.raises(StoreError, match=r"not a readable HDF5 file \(truncated or corrupt\?\)"):
            read(tmp_path / "cut.h5")
        with pytest.raises(StoreError, match=f"not {what} \\(schema 'someone-else/1'\\)"):
            read(tmp_path / "other.h5")
