"""newswatch detector: flags news articles that report attacks in Iraq.

>>> from detector import Detector
>>> det = Detector()
>>> d = det.detect("Two rockets fired at Baghdad's Green Zone", "...", date="2021-12-19")
"""

from .core import Detection, Detector, KeywordResult

__all__ = ["Detector", "Detection", "KeywordResult"]
