"""Synthetic engine: exact depth, OB placement and OB semantics on hand-built scenes."""
import numpy as np

from training.data.synth.objects import rot_euler
from training.data.synth.render import render_batch
from training.data.synth.scene import BOX, CHECKER, FLAT, PLANE, SPHERE, STRIPES, TORUS, CYLINDER, Scene

H, W = 48, 64
NEUTRAL = {"exposure": 1.0, "gamma": 2.2, "noise": 0.0, "blur": 0.0, "vignette": 0.0, "wb": np.ones(3)}


def material(tex=FLAT, color=(0.6, 0.5, 0.4)):
    return {"tex": tex, "c1": np.array(color, np.float32), "c2": np.array([0.1, 0.1, 0.1], np.float32),
            "tex_scale": np.float32(4.0), "tex_off": np.array([0.3, 0.2, 0.1], np.float32), "photo": 0,
            "spec": np.float32(0.0)}


def make_scene(light=(0.0, -3.0, -1.0), point=True):
    s = Scene()
    s.k_rel = np.array([0.8, 1.0, 0.5, 0.5])
    s.camera = dict(NEUTRAL)
    s.light_pos, s.light_is_point, s.light_power, s.ambient = np.array(light, float), point, 8.0, 0.2
    return s


def render(s, pose=None, size=(H, W)):
    out = render_batch([s], *size, poses=[np.eye(4) if pose is None else pose], noise=False)
    return {k: v[0] for k, v in out.items()}


def analytic_sphere_depth(K, center, radius):
    v, u = np.mgrid[0:H, 0:W].astype(np.float64)
    d = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], -1)
    a, b, c = (d * d).sum(-1), (d * -center).sum(-1), (center ** 2).sum() - radius ** 2
    disc = b * b - a * c
    return np.where(disc >= 0, (-b - np.sqrt(np.maximum(disc, 0))) / a, np.inf)


def test_plane_and_sphere_depth_are_analytically_exact():
    """Depth labels must be exact, or every metric computed against them is biased."""
    s = make_scene()
    s.add(PLANE, [0, 0, 5.0], np.eye(3), [], 1, material())  # fronto-parallel wall at z = 5 m
    center, radius = np.array([0.4, 0.2, 3.0]), 0.7
    s.add(SPHERE, center, np.eye(3), [radius], 2, material())
    out = render(s)
    K = out["K"].double().numpy()
    sphere = analytic_sphere_depth(K, center, radius)
    expected = np.where(np.isfinite(sphere), sphere, 5.0)
    depth = out["depth"][0].double().numpy()
    assert np.abs(depth - expected).max() < 2e-4
    assert (out["instance"][0].numpy() == 2).sum() == np.isfinite(sphere).sum()


def test_boundary_lies_on_the_silhouette_on_the_near_side():
    """OB labels must sit exactly on the occluder's silhouette, 1 px wide, on the near object."""
    s = make_scene()
    s.add(PLANE, [0, 0, 5.0], np.eye(3), [], 1, material())
    s.add(SPHERE, [0.4, 0.2, 3.0], np.eye(3), [0.7], 2, material())
    out = render(s)
    inside = out["instance"][0].numpy() == 2
    pad = np.pad(inside, 1, constant_values=False)
    has_outside_nb = ~(pad[:-2, 1:-1] & pad[2:, 1:-1] & pad[1:-1, :-2] & pad[1:-1, 2:])
    silhouette = inside & has_outside_nb
    silhouette[[0, -1], :] = silhouette[:, [0, -1]] = False  # no neighbour beyond the border
    ob = out["boundary"][0].numpy().astype(bool)
    ob_inner = ob.copy()
    ob_inner[[0, -1], :] = ob_inner[:, [0, -1]] = False
    assert ob.sum() > 20
    np.testing.assert_array_equal(ob_inner, silhouette)
    ori = out["orientation"][0].numpy()
    assert np.isfinite(ori[ob]).all() and np.isnan(ori[~ob]).all()


def test_texture_shadow_and_crease_edges_are_not_boundaries():
    """Texture, shadow and crease edges must not be labelled, or the net learns to fire on them."""
    s = make_scene(light=(0.0, -4.0, 2.0))
    s.add(PLANE, [0, 0, 4.0], np.eye(3), [], 1, material(CHECKER, (0.9, 0.9, 0.9)))
    # occluder outside the view, between light and wall: casts a shadow only
    s.add(SPHERE, [0.0, -2.4, 2.6], np.eye(3), [0.35], 2, material())
    out = render(s)
    assert out["boundary"].sum() == 0
    assert (out["instance"][0] == 2).sum() == 0
    without = make_scene(light=(0.0, -4.0, 2.0))
    without.add(PLANE, [0, 0, 4.0], np.eye(3), [], 1, material(CHECKER, (0.9, 0.9, 0.9)))
    lit = render(without)["rgb"].float()
    dark = (lit - out["rgb"].float()).mean(0) > 20
    assert dark.sum() > 30, "the test needs a visible cast shadow"
    assert (lit.mean(0).amax() - lit.mean(0).amin()) > 60, "the test needs strong texture edges"
    # a box showing three faces against a far wall: creases inside, OB only on its outline
    s = make_scene()
    s.add(PLANE, [0, 0, 8.0], np.eye(3), [], 1, material())
    s.add(BOX, [0.0, 0.0, 3.0], rot_euler(0.5, 0.6, 0.2), [0.6, 0.6, 0.6], 2, material(STRIPES))
    out = render(s)
    inside = out["instance"][0].numpy() == 2
    pad = np.pad(inside, 1)
    interior = inside & pad[:-2, 1:-1] & pad[2:, 1:-1] & pad[1:-1, :-2] & pad[1:-1, 2:]
    assert out["boundary"][0].numpy()[interior].sum() == 0
    assert out["boundary"][0].numpy()[inside].sum() > 20


def _interior_ob(out, inst):
    mask = out["instance"][0].numpy() == inst
    pad = np.pad(mask, 1)
    interior = mask & pad[:-2, 1:-1] & pad[2:, 1:-1] & pad[1:-1, :-2] & pad[1:-1, 2:]
    return int(out["boundary"][0].numpy()[interior].sum())


def test_self_occlusion_is_labelled_inside_the_silhouette():
    """A torus seen edge-on and a mug handle hide parts of their own object: those are OBs."""
    s = make_scene()
    s.add(PLANE, [0, 0, 9.0], np.eye(3), [], 1, material())
    s.add(TORUS, [0, 0, 3.0], rot_euler(1.25, 0.0, 0.3), [0.8, 0.2], 2, material())
    assert _interior_ob(render(s), 2) > 10
    s = make_scene()
    s.add(PLANE, [0, 0, 9.0], np.eye(3), [], 1, material())
    s.add(CYLINDER, [0, 0, 3.0], rot_euler(np.pi / 2, 0, 0), [0.45, 0.6], 3, material())
    # handle: a torus in the y-z plane centred on the body's front surface, sticking out towards
    # the camera, so it hides part of its own body
    s.add(TORUS, [0.1, 0.0, 2.55], rot_euler(0.0, np.pi / 2, 0.0), [0.3, 0.07], 3, material())
    out = render(s, size=(96, 128))
    assert _interior_ob(out, 3) > 5


def _torus_roots(o, d, R, r):
    """Smallest positive real root of the ray/torus quartic (float64 reference via np.roots)."""
    dd, od, oo = d @ d, o @ d, o @ o
    k = oo + R * R - r * r
    coeffs = [dd * dd, 4 * dd * od, 2 * dd * k + 4 * od * od - 4 * R * R * (d[0] ** 2 + d[1] ** 2),
              4 * k * od - 8 * R * R * (o[0] * d[0] + o[1] * d[1]), k * k - 4 * R * R * (o[0] ** 2 + o[1] ** 2)]
    roots = np.roots(coeffs)
    real = roots[(np.abs(roots.imag) < 1e-7) & (roots.real > 0)].real
    return real.min() if real.size else np.inf


def test_torus_depth_matches_the_exact_quartic_root():
    """Tori are sphere-traced then Newton-polished: depth must equal the analytic quartic root."""
    s = make_scene()
    rot = rot_euler(1.1, 0.2, 0.4)
    center, R, r = np.array([0.1, -0.1, 3.0]), 0.9, 0.3
    s.add(TORUS, center, rot, [R, r], 2, material())
    out = render(s)
    K = out["K"].double().numpy()
    depth = out["depth"][0].double().numpy()
    errors, missed = [], 0
    for v in range(0, H, 2):
        for u in range(0, W, 2):
            d_cam = np.array([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], 1.0])
            ref = _torus_roots(rot.T @ -center, rot.T @ d_cam, R, r)
            if np.isfinite(ref):
                if np.isfinite(depth[v, u]):
                    errors.append(abs(depth[v, u] - ref))
                else:
                    missed += 1
            else:
                assert np.isnan(depth[v, u])
    assert len(errors) > 100 and max(errors) < 1e-4
    assert missed <= 2  # only rays grazing the tube within float precision may be lost
