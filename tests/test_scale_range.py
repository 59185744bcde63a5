"""A rangefinder beside the camera with a real cone: ``range_offset`` and ``Range.field_of_view``."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from modot_ros.inference import Prediction
from modot_ros.pipeline.messages import MessageError
from modot_ros.scale import (RangeBeam, ScaleEngine, ScaleSettings, fit_range_beam, measurement_from_message,
                             offset_from_text, range_beam)
from modot_ros.scale.settings import RangeData
from tests.test_scale import INTR


def test_an_offset_sensor_sees_its_target_at_another_pixel_and_depth():
    """10 cm below the camera (body z -0.1) a beam along the optical axis lands 8 px lower at 2 m."""
    below = range_beam(2.0, 0.0, 0.5, 0.5, offset_from_text("0 0 -0.1"), INTR)
    assert (below.u, below.v, below.z) == pytest.approx((INTR.cx, INTR.cy + 160 * 0.1 / 2.0, 2.0))
    ahead = range_beam(2.0, 0.0, 0.5, 0.5, offset_from_text("0.05 0 0"), INTR)
    assert ahead.z == pytest.approx(2.05)  # mounted 5 cm in front of the optical centre


def test_the_cone_footprint_grows_with_the_field_of_view():
    """A cone of half-angle atan(0.05) is 0.05 * range wide: 8 px at fx = 160 on-axis, any range."""
    for range_m in (1.0, 4.0):
        beam = range_beam(range_m, 2 * math.atan(0.05), 0.5, 0.5, np.zeros(3), INTR)
        assert (beam.radius_u, beam.radius_v) == pytest.approx((8.0, 8.0))


def test_the_median_over_the_cone_ignores_a_spike_at_its_centre():
    """A sonar's range is an average over its cone: one wrong pixel at the beam's centre does not matter."""
    depth = np.full((INTR.height, INTR.width), 1.0, np.float32)
    depth[60, 80] = 3.0
    beam = RangeBeam(80.0, 60.0, 2.0, 0.0, 0.0)
    assert fit_range_beam(depth, beam).scale == pytest.approx(2.0 / 3.0)  # one pixel: the spike
    wide = fit_range_beam(depth, beam._replace(radius_u=4.0, radius_v=4.0))
    assert wide.trusted and wide.scale == pytest.approx(2.0) and wide.extra["footprint_px"] > 40


def test_a_cone_across_an_occlusion_boundary_uses_its_reliable_side():
    """A centre pixel on our OB map alone is unusable; a wider cone keeps the pixels away from it."""
    depth = np.full((INTR.height, INTR.width), 1.0, np.float32)
    boundary = np.zeros_like(depth)
    boundary[:, 78:83] = 1.0
    beam = RangeBeam(80.0, 60.0, 2.0, 0.0, 0.0)
    narrow = fit_range_beam(depth, beam, boundary)
    assert not narrow.trusted and "no usable pixel in the beam's footprint" in narrow.reason
    wide = fit_range_beam(depth, beam._replace(radius_u=12.0, radius_v=12.0), boundary)
    assert wide.trusted and wide.scale == pytest.approx(2.0)
    assert "not in view" in fit_range_beam(depth, beam._replace(u=-5.0)).reason


def test_the_engine_compares_an_offset_range_with_what_the_sensor_sees():
    """A box fills the lower image at 1 m, a wall is at 3 m: a beam from 10 cm below hits the box.

    Taken from the optical centre, its 1 m would be compared with the wall and the scale would be
    off 3x; with ``range_offset`` the depth is scaled right.
    """
    gt = np.full((INTR.height, INTR.width), 3.0, np.float32)
    gt[int(INTR.cy) + 4:] = 1.0
    prediction = Prediction(gt / 1.5, None, None, None, None, None, None, INTR)
    measured = RangeData(1.0, 0.05, 10.0, 2 * math.atan(0.01))
    offset = ScaleEngine(ScaleSettings(scale_source="range", range_offset="0 0 -0.1"))
    assert offset.fit(prediction, measured).scale == pytest.approx(1.5)
    centred = ScaleEngine(ScaleSettings(scale_source="range"))
    assert centred.fit(prediction, measured).scale == pytest.approx(0.5)


def test_range_messages_carry_their_cone_and_bad_ones_are_named():
    header = SimpleNamespace(frame_id="sonar", stamp=SimpleNamespace(sec=1, nanosec=0))
    msg = SimpleNamespace(header=header, range=2.0, min_range=0.1, max_range=5.0, field_of_view=0.3)
    assert measurement_from_message("range", msg) == RangeData(2.0, 0.1, 5.0, 0.3)
    for bad in (float("nan"), -0.1, 4.0):
        with pytest.raises(MessageError, match=r"field_of_view=.* must be the cone's full angle in radians"):
            measurement_from_message("range", SimpleNamespace(**{**vars(msg), "field_of_view": bad}))


@pytest.mark.parametrize("text", ["0 0", "0 0 x", "0 0 0 0"])
def test_a_bad_range_offset_names_the_parameter_and_the_form(text):
    assert ScaleSettings(range_offset=text).problems() == [f"range_offset: {text!r} must be three numbers: x y z (m)"]


def test_a_beam_without_a_cone_is_the_nearest_pixel_alone():
    """field_of_view 0 between pixels (the image centre of an even size) compares with one pixel, as before."""
    depth = np.arange(INTR.height * INTR.width, dtype=np.float32).reshape(INTR.height, INTR.width) + 100
    beam = range_beam(2.0, 0.0, 0.5, 0.5, np.zeros(3), INTR)  # (79.5, 59.5): four pixels equally near
    fit = fit_range_beam(depth, beam)
    assert fit.extra["footprint_px"] == 1 and fit.scale == pytest.approx(2.0 / depth[60, 80])
