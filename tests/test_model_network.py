"""Network variants, output structure, CASM and config validation."""
import inspect

import pytest
import torch

from modot_ros.config import ConfigError, ModelConfig, config_help
from modot_ros.model.casm import CASM
from modot_ros.model.network import DepthBoundaryNet

SMALL = dict(input_height=64, input_width=96)


@pytest.mark.parametrize("variant", ["modot", "joint", "depth", "boundary"])
@pytest.mark.parametrize("head", ["mixture", "regression"])
def test_variants_give_the_outputs_of_their_tasks(variant, head):
    """Every ablation variant trains: right outputs, shapes, and gradients reach the encoder."""
    net = DepthBoundaryNet(ModelConfig(variant=variant, depth_head=head, **SMALL), pretrained=False)
    out = net.train()(torch.rand(2, 3, 64, 96))
    has_depth, has_ob = variant != "boundary", variant != "depth"
    assert (out.depth_params is not None) == has_depth
    assert (out.boundary_logits is not None) == has_ob
    if has_depth:
        assert out.depth_params.shape == (2, 5 if head == "mixture" else 1, 32, 48)
        assert out.depth_params.dtype == torch.float32
    if has_ob:
        assert out.boundary_logits.shape == (2, 1, 64, 96)
        assert [s.shape for s in out.boundary_side_logits] == [(2, 1, 64, 96)] * 4
    loss = sum(t.mean() for t in [out.depth_params, out.boundary_logits] if t is not None)
    loss.backward()
    assert net.encoder.backbone.conv_stem.weight.grad.abs().sum() > 0


def test_casm_only_in_modot_variant():
    """'joint' is the no-CASM ablation; its checkpoint keys must lack CASM weights."""
    def keys(v):
        return DepthBoundaryNet(ModelConfig(variant=v, **SMALL), pretrained=False).state_dict()

    assert any(k.startswith("depth_decoder.casms.") for k in keys("modot"))
    assert not any("casms" in k for k in keys("joint"))


def test_depth_does_not_depend_on_the_ob_decoder():
    """A depth-only run may skip the OB decoder and get identical depth."""
    net = DepthBoundaryNet(ModelConfig(**SMALL), pretrained=False).eval()
    x = torch.rand(1, 3, 64, 96)
    with torch.inference_mode():
        full, depth_only = net(x), net(x, with_boundary=False)
    assert depth_only.boundary_logits is None
    assert torch.equal(full.depth_params, depth_only.depth_params)
    assert full.boundary_side_logits == []  # no side outputs at inference


def test_forward_reads_on_one_screen():
    """Style contract: the top-level forward stays short enough to read top to bottom."""
    lines = inspect.getsource(DepthBoundaryNet.forward).strip().splitlines()
    body = [ln for ln in lines[1:] if ln.strip() and not ln.strip().startswith(('"""', "(B"))]
    assert len(body) <= 15


@pytest.mark.parametrize("depthwise", [True, False])
def test_casm_gates_cross_and_keeps_shapes(depthwise):
    """CASM: OB gate modulates depth and vice versa; the depth side gets the strip fusion."""
    casm = CASM(16, depthwise=depthwise, reduction=4).eval()
    ob, depth = torch.rand(1, 16, 12, 10), torch.rand(1, 16, 12, 10)
    ob_out, depth_out = casm(ob, depth)
    assert ob_out.shape == depth_out.shape == ob.shape
    # OB output = ob * (1 + gate(depth)), gate in (0, 1)
    ratio = ob_out / ob
    assert ((ratio > 1) & (ratio < 2)).all()
    _, depth_out2 = casm(ob * 3, depth)
    assert not torch.allclose(depth_out, depth_out2)  # depth sees the OB feature


def test_config_round_trip_and_validation():
    """Configs stored in checkpoints must round-trip; bad values name the field and choices."""
    config = ModelConfig(variant="joint", decoder_channels=(32, 24, 16, 8))
    assert ModelConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError, match="variant.*modot"):
        ModelConfig(variant="nope")
    with pytest.raises(ConfigError, match="unknown ModelConfig keys"):
        ModelConfig.from_dict({"colour": 1})
    with pytest.raises(ConfigError, match="multiples of 16"):
        ModelConfig(input_height=250)
    with pytest.raises(ConfigError, match="min_depth"):
        ModelConfig(min_depth=5.0, max_depth=1.0)
    assert "strip_conv" in config_help(ModelConfig) and "depthwise|dense" in config_help(ModelConfig)
