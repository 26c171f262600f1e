"""Planning intents: a planner's request in plain words, parsed into checked planning options
(model, network check, mapping, TS 28.312 document, regex baseline and LLM parsers)."""
