"""Network blocks: encoder, decoders, CASM, heads and the assembled ``DepthBoundaryNet``."""
