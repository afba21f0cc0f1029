"""Musical analysis and alignment of the host's sources: tempo, beats, downbeat, key.

numpy/scipy only; :mod:`plugin_host.musical.align` also uses pedalboard (Rubber Band).
"""
