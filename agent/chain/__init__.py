"""The one chain every driver runs, composed here once:

    source -> FlowPipeline -> Chain -> sinks
    (captures, a journal,   (records -> rows ->   (Judge: lookups   (a Tally, the journal,
     flow record files,      flows -> names)       -> verdicts)      alerts, metrics, a
     a lake unit, a live                                              fleet partial, events)
     interface)

    pipeline.py   FlowPipeline: record batches -> decoded rows -> flows with names (sans-IO)
    recording.py  captures given together read as one recording, in time order
    judging.py    Chain: the one place the judge is called and its verdicts handed to sinks
    sources.py    captures, a journal, flow record files as batches of `Flows`
    offline.py    analyze / analyze --journal: the sources through one Chain into a Tally
    period.py     when the traffic began, found before judging (which range versions apply)

`analyze` and `report` run offline.py; the daemon (`agent.daemon.service`) feeds live interfaces
and flow exports to the same FlowPipeline and Chain; the fleet's map (`agent.fleet.partial`) feeds
lake units.
"""
