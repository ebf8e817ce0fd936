"""Public evidence for the Fachtag's own demands: consultations and dialogue with the bodies.

Both pages have their CSV and Atom feed; the demands about early involvement and about dialogue
culture link here (by their key in the data set).
"""

from tracker.web.evidence.views import bp

__all__ = ["bp"]
