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
