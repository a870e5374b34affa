"""One module per ``mrc-ner`` command; :mod:`mrc_ner.cli` joins them into one app."""
