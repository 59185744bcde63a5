"""Camera deployment profiles: where a robot's camera sits, so the world's scale is learnable.

A monocular network infers metric depth partly from how high the camera is above the floor and
how it is tilted. Training scenes draw the camera's height and pitch from named profiles instead
of one wide range. A user who knows the mount can train on a narrow inline profile, e.g.
``"custom:height=0.30-0.45,pitch=-15-0,indoor=1"``.
"""
from __future__ import annotations

from typing import NamedTuple


class CameraProfile(NamedTuple):
    name: str
    height_m: tuple[float, float]    # camera centre above the floor / ground
    pitch_deg: tuple[float, float]   # optical axis above (+) or below (-) the horizon
    indoor_share: float              # probability of an indoor room (else an outdoor scene)
    weight: float = 1.0              # share when several profiles are mixed


PROFILES = {
    "indoor_robot": CameraProfile("indoor_robot", (0.2, 1.5), (-25.0, 10.0), 0.85, 1.0),
    "handheld": CameraProfile("handheld", (1.2, 1.7), (-35.0, 10.0), 0.6, 0.8),
    "vehicle": CameraProfile("vehicle", (1.2, 2.0), (-12.0, 5.0), 0.0, 0.6),
}
DEFAULT_PROFILES = ("indoor_robot", "handheld", "vehicle")


class ProfileError(ValueError):
    """An unknown profile name or a malformed inline profile."""


def _range(text: str, key: str, spec: str) -> tuple[float, float]:
    # "lo-hi" where lo may itself be negative: split at the last '-' that follows a digit
    for i in range(len(text) - 1, 0, -1):
        if text[i] == "-" and text[i - 1].isdigit():
            lo, hi = float(text[:i]), float(text[i + 1:])
            if lo > hi:
                break
            return lo, hi
    raise ProfileError(f"profile {spec!r}: {key}={text!r} must be a range LO-HI with LO <= HI")


def parse_profile(spec: str) -> CameraProfile:
    """A named profile (``PROFILES``) or ``custom:height=LO-HI,pitch=LO-HI,indoor=P[,weight=W]``."""
    if spec in PROFILES:
        return PROFILES[spec]
    if not spec.startswith("custom:"):
        raise ProfileError(f"unknown camera profile {spec!r}; use one of {sorted(PROFILES)} or "
                           "custom:height=LO-HI,pitch=LO-HI,indoor=P")
    try:
        items = dict(item.split("=", 1) for item in spec[len("custom:"):].split(","))
    except ValueError as error:
        raise ProfileError(f"profile {spec!r}: items must be key=value") from error
    unknown = set(items) - {"height", "pitch", "indoor", "weight"}
    if unknown or not {"height", "pitch", "indoor"} <= set(items):
        raise ProfileError(f"profile {spec!r} needs height, pitch and indoor (optional weight)")
    profile = CameraProfile(spec, _range(items["height"], "height", spec),
                            _range(items["pitch"], "pitch", spec), float(items["indoor"]),
                            float(items.get("weight", 1.0)))
    if profile.height_m[0] <= 0 or not 0 <= profile.indoor_share <= 1 or profile.weight <= 0:
        raise ProfileError(f"profile {spec!r}: height must be > 0, indoor in [0, 1], weight > 0")
    return profile


def resolve_profiles(specs: tuple[str, ...] | list[str] | str) -> list[CameraProfile]:
    """Profiles for a list of names / inline specs (a single string is one spec)."""
    specs = [specs] if isinstance(specs, str) else list(specs)
    if not specs:
        raise ProfileError("at least one camera profile is needed")
    return [parse_profile(s) for s in specs]
