"""The ``/tf`` + ``/tf_static`` tree of a bag: the transform between two frames at an image stamp.

tf2's rules without tf2 (not installable here): every ``TransformStamped`` is an edge from its
parent (``header.frame_id``) to its child (``child_frame_id``) giving ``T_parent_child``, which
maps child-frame points into the parent frame; each frame has one parent. Static edges hold at
every time. A dynamic edge is interpolated between its samples on either side of the stamp
(slerp + linear; ``geometry.interpolate_rigid``); before its first or after its last sample the
nearest one is used when it is within ``tolerance_ns``, as recorders start topics a little apart.
A lookup composes both frames' chains up to their common ancestor with ``modot_ros.geometry``.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from modot_ros.geometry import interpolate_rigid, invert_rigid, rigid_transform
from modot_ros.pipeline.stamp_sync import stamp_ns

TF_MESSAGE = "tf2_msgs/msg/TFMessage"


class TfError(ValueError):
    """Frames that do not connect, or a stamp the recorded transforms do not cover."""


@dataclass
class _Edge:
    parent: str
    static: bool
    stamps: list[int] = field(default_factory=list)
    transforms: list[np.ndarray] = field(default_factory=list)

    def at(self, stamp: int, tolerance_ns: int, child: str) -> np.ndarray:
        if self.static:
            return self.transforms[-1]
        i = bisect.bisect_left(self.stamps, stamp)
        if i < len(self.stamps) and self.stamps[i] == stamp:
            return self.transforms[i]
        if 0 < i < len(self.stamps):
            t0, t1 = self.stamps[i - 1], self.stamps[i]
            return interpolate_rigid(self.transforms[i - 1], self.transforms[i], (stamp - t0) / (t1 - t0))
        nearest = 0 if i == 0 else len(self.stamps) - 1
        if abs(self.stamps[nearest] - stamp) <= tolerance_ns:
            return self.transforms[nearest]
        raise TfError(f"/tf {self.parent} -> {child} covers stamps {self.stamps[0]}..{self.stamps[-1]} ns, "
                      f"not {stamp} (more than {tolerance_ns / 1e9:g} s outside)")


class TransformTree:
    """Edges of one recording; ``lookup(target, source, stamp)`` gives ``T_target_source``."""

    def __init__(self, tolerance_ns: int = 50_000_000) -> None:
        self.tolerance_ns = int(tolerance_ns)
        self._edges: dict[str, _Edge] = {}
        self._unsorted: set[str] = set()

    def add(self, parent: str, child: str, stamp: int, T_parent_child: np.ndarray, static: bool) -> None:
        """Record one transform (frame names as in the message; a leading '/' is dropped, as tf2 does)."""
        parent, child = parent.lstrip("/"), child.lstrip("/")
        edge = self._edges.setdefault(child, _Edge(parent, static))
        if edge.parent != parent:
            raise TfError(f"frame {child} has two parents in /tf ({edge.parent} and {parent}); tf allows one")
        edge.static = edge.static and static
        edge.stamps.append(int(stamp))
        edge.transforms.append(np.asarray(T_parent_child, np.float64))
        self._unsorted.add(child)

    def prune(self, before_ns: int) -> None:
        """Forget dynamic samples older than ``before_ns``, keeping each edge's newest one (a live buffer)."""
        for child in list(self._edges):
            edge = self._edge(child)
            keep = max(0, min(bisect.bisect_left(edge.stamps, before_ns), len(edge.stamps) - 1))
            if not edge.static and keep:
                edge.stamps, edge.transforms = edge.stamps[keep:], edge.transforms[keep:]

    def frames(self) -> set[str]:
        return set(self._edges) | {e.parent for e in self._edges.values()}

    def ancestors(self, frame: str) -> list[str]:
        """``frame``, its parent, ..., the root of its tree."""
        chain = [frame.lstrip("/")]
        while chain[-1] in self._edges:
            chain.append(self._edges[chain[-1]].parent)
            if chain[-1] in chain[:-1]:
                raise TfError(f"/tf has a loop through {chain[-1]}: {' -> '.join(chain)}")
        return chain

    def root(self, frame: str) -> str:
        return self.ancestors(frame)[-1]

    def path(self, target: str, source: str) -> tuple[list[str], list[str]]:
        """Both frames' chains up to their common ancestor (included); TfError when they do not connect."""
        for name in (target, source):
            if name.lstrip("/") not in self.frames():
                raise TfError(f"frame {name} is not in /tf or /tf_static (frames: {', '.join(sorted(self.frames()))})")
        up_target, up_source = self.ancestors(target), self.ancestors(source)
        common = next((f for f in up_target if f in up_source), None)
        if common is None:
            raise TfError(f"frames {target} (tree of {up_target[-1]}) and {source} (tree of {up_source[-1]}) "
                          "are not connected in /tf + /tf_static")
        return up_target[:up_target.index(common) + 1], up_source[:up_source.index(common) + 1]

    def _to_ancestor(self, chain: list[str], stamp: int) -> np.ndarray:
        """``T_ancestor_frame`` along ``chain`` (frame first, ancestor last)."""
        T = np.eye(4)
        for child in chain[:-1]:
            T = self._edge(child).at(stamp, self.tolerance_ns, child) @ T
        return T

    def _edge(self, child: str) -> _Edge:
        edge = self._edges[child]
        if child in self._unsorted:  # bags are in receive order; stamps of one edge may not be
            order = np.argsort(edge.stamps, kind="stable")
            edge.stamps = [edge.stamps[i] for i in order]
            edge.transforms = [edge.transforms[i] for i in order]
            self._unsorted.discard(child)
        return edge

    def lookup(self, target: str, source: str, stamp: int) -> np.ndarray:
        """``T_target_source`` at ``stamp`` ns: maps ``source``-frame points into ``target``'s frame."""
        up_target, up_source = self.path(target, source)
        return invert_rigid(self._to_ancestor(up_target, stamp)) @ self._to_ancestor(up_source, stamp)


def read_tf(reader, tolerance_ns: int = 50_000_000) -> TransformTree:
    """Every TFMessage topic of an open rosbags reader (``*tf_static`` topics are static)."""
    tree = TransformTree(tolerance_ns)
    connections = [c for c in reader.connections if c.msgtype == TF_MESSAGE]
    for con, _, raw in reader.messages(connections=connections):
        static = con.topic.rstrip("/").endswith("tf_static")
        for ts in reader.deserialize(raw, con.msgtype).transforms:
            q, t = ts.transform.rotation, ts.transform.translation
            tree.add(ts.header.frame_id, ts.child_frame_id, stamp_ns(ts.header),
                     rigid_transform((q.x, q.y, q.z, q.w), (t.x, t.y, t.z)), static)
    return tree
