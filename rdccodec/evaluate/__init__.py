"""Evaluation: rate–distortion and rate–accuracy curves against Pillow's codecs, BD-rate, plots."""
