"""The leaf layer: data types, settings, errors and the clock. Imports nothing else of feedpipe."""
