"""English function words and lecture fillers: they carry no topic, so cohesion and key phrases skip them."""

from __future__ import annotations

_LISTED = """
a about above after again against all almost also although always am among an and another any anyone
anything are around as at back be because been before being below between both but by can cannot could
did do does doing done down during each either else enough even ever every few first for from further
get gets getting give given go goes going gone good got had has have having he her here hers herself him
himself his how however i if in into is it its itself just keep kind know last least less let like likely
look lot made make makes many may maybe me might mine more most much must my myself need new next no nor
not now of off often ok okay on once one only onto or other others our ours ourselves out over own part
perhaps put quite rather really right said same say says see seem seems shall she should show since so
some something sometimes still such sure take than that the their theirs them themselves then there
these they thing things think this those though through thus to today together too two under until up
upon us use used uses using very want wants was way we well were what whatever when where whether which
while who whom whose why will with within without would yeah yes yet you your yours yourself
um uh er ah oh hmm gonna wanna actually basically literally alright
morning afternoon evening everyone everybody hello hi welcome please thank thanks already anyway
"""
STOPWORDS = frozenset(_LISTED.split())
"""Not the `stop-words` package's English list: its 1,333 words include content words ("system"); the
common words it would add are weighted down by their frequency instead (leap_core.speech.keywords)."""
