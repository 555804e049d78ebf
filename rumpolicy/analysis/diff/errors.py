"""The two ways an analysis can stop short; both end up in `not_analysed`, never as a guess."""


class TooComplex(Exception):
    """A budget would be exceeded (automaton states, kinds of lists, search states, regions)."""


class InternalError(Exception):
    """A constructed witness did not land where the construction said it would."""
