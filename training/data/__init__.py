"""Training data: the synthetic world and the frames the trainer reads.

``synth`` renders the synthetic world (reached through ``synth.api``); ``frames`` holds the frame
cache, the crops and the on-the-fly rendering the trainer reads.
"""
