"""Which topic and message type carry the input image, as image_transport would choose them."""
from __future__ import annotations

from typing import Any


def image_input(node: Any, transport: str) -> tuple[type, str]:
    """(message class, resolved topic) of the image input of ``node`` for ``transport`` raw|compressed.

    compressed subscribes ``<image>/compressed`` after remapping ``image`` (image_transport's rule,
    since a remap of ``image`` alone does not reach ``image/compressed``); a remap of
    ``image/compressed`` itself wins, for drivers that publish jpeg under another name.
    """
    from sensor_msgs.msg import CompressedImage, Image

    if transport == "raw":
        return Image, node.resolve_topic_name("image")
    own = node.resolve_topic_name("image/compressed")
    if own != node.resolve_topic_name("image/compressed", only_expand=True):
        return CompressedImage, own
    return CompressedImage, node.resolve_topic_name("image").rstrip("/") + "/compressed"
